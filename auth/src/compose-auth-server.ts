import type { LookupFunction } from 'node:net'
import type { Hono } from 'hono'
import type { UserDirectory } from '../../mcp-services/src/user-directory.ts'
import { createApp } from './app.ts'
import { createAuditTrail } from './audit/audit-trail.ts'
import { createMetadataDocumentClients } from './clients/metadata-document-clients.ts'
import type { Clock } from './clock.ts'
import type { Config } from './config.ts'
import type { AuthDeps } from './deps.ts'
import { createForwardAuth, type ForwardAuth, meteredForwardAuth } from './http/forward-auth.ts'
import { createInternalApp } from './internal/internal-app.ts'
import { signingKeysAtStart } from './keys/signing-keys-at-start.ts'
import type { Logger } from './logger.ts'
import { type AuthMetrics, createAuthMetrics } from './metrics/auth-metrics.ts'
import { countedAuditTrail } from './metrics/counted-audit-trail.ts'
import { meteredStore } from './metrics/metered-store.ts'
import { createReadiness } from './readiness.ts'
import { type ReplicaWatch, watchReplicas } from './replicas/replica-watch.ts'
import type { Store } from './store/store.ts'
import { configuredUpstream } from './upstream/configured-upstream.ts'
import { userDirectory } from './users/user-directory.ts'

/**
 * Builds the authorization server from its parts: signing keys from the store (or the pinned
 * key), the configured identity provider, the app, and the internal API (its own listener) with
 * the user directory it serves. `main.ts` and the tests compose it the same way.
 */
export async function composeAuthServer(parts: {
  config: Config
  store: Store
  clock: Clock
  logger: Logger
  /** Made here when not given; `main.ts` gives one that also has the process's own metrics. */
  metrics?: AuthMetrics
  /** Resolves the hosts of client metadata documents; `dns.lookup` when not given. */
  resolveHost?: LookupFunction
}): Promise<{
  deps: AuthDeps
  replicas: ReplicaWatch
  app: Hono
  forwardAuth: ForwardAuth
  users: UserDirectory
  internalApp: Hono | undefined
}> {
  const { config, clock } = parts
  const metrics = parts.metrics ?? createAuthMetrics()
  // Every part below reads and writes through it, so every store call is timed and counted.
  const store = meteredStore(parts.store, metrics)
  const signingKeys = await signingKeysAtStart(store, config.pinnedSigningKey, parts.logger)
  await warnOfEviction(store, parts.logger)
  const upstream = configuredUpstream(config, store, clock)
  const { enabled, allowLoopback } = config.clientIdMetadataDocuments
  const metadataDocumentClients = enabled
    ? createMetadataDocumentClients({
        store,
        clock,
        logger: parts.logger,
        fetch: { allowLoopback, ...(parts.resolveHost ? { lookup: parts.resolveHost } : {}) },
      })
    : undefined
  const audit = countedAuditTrail(
    createAuditTrail({
      logger: parts.logger,
      clock,
      store,
      streamMaxLength: config.auditStreamMaxLength,
    }),
    metrics
  )
  // Started by `main.ts`: a replica serving others; tests look when they mean to.
  const replicas = watchReplicas({ store, clock, logger: parts.logger, config, metrics })
  const deps: AuthDeps = {
    ...parts,
    store,
    audit,
    metrics,
    signingKeys,
    replicas,
    readiness: createReadiness(),
    ...(upstream ? { upstream } : {}),
    ...(metadataDocumentClients ? { metadataDocumentClients } : {}),
  }
  const users = userDirectory(deps)
  const internalApp = config.internalApi
    ? createInternalApp(deps, users, config.internalApi.secret)
    : undefined
  // One decision for `/verify`, whether the public listener (metered here) or the app's route
  // (metered by the app) answers it.
  const forwardAuth = createForwardAuth(deps)
  return {
    deps,
    replicas,
    app: createApp(deps, forwardAuth),
    forwardAuth: meteredForwardAuth(forwardAuth, metrics),
    users,
    internalApp,
  }
}

/**
 * A store that evicts keys loses clients and tokens without a trace, so it is said at every start.
 * A store that will not tell (a managed Redis may refuse `INFO`) is left unjudged.
 */
async function warnOfEviction(store: Store, logger: Logger): Promise<void> {
  const risk = await store.evictionRisk().catch(() => undefined)
  if (risk) logger.warn({ event: 'store_may_evict' }, risk)
}
