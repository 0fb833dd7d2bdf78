import type { LookupFunction } from 'node:net'
import type { Hono } from 'hono'
import type { AuditTrail } from '../../auth/src/audit/audit-trail.ts'
import type { Clock } from '../../auth/src/clock.ts'
import { composeAuthServer } from '../../auth/src/compose-auth-server.ts'
import { type Config, loadConfig } from '../../auth/src/config.ts'
import type { ForwardAuth } from '../../auth/src/http/forward-auth.ts'
import type { SigningKeys } from '../../auth/src/keys/signing-keys.ts'
import { createLogger, type Logger } from '../../auth/src/logger.ts'
import type { AuthMetrics } from '../../auth/src/metrics/auth-metrics.ts'
import type { ReplicaWatch } from '../../auth/src/replicas/replica-watch.ts'
import type { Store } from '../../auth/src/store/store.ts'
import type { UserDirectory } from '../../mcp-services/src/user-directory.ts'
import { createTestRedisStore } from './stores.ts'

/** A clock tests move by hand. */
export interface ManualClock extends Clock {
  advance(milliseconds: number): void
}

export function manualClock(start = Date.now()): ManualClock {
  let now = start
  return {
    now: () => now,
    advance: (milliseconds) => {
      now += milliseconds
    },
  }
}

export interface TestAuthServer {
  readonly app: Hono
  /** The `/verify` decision of the public Node listener (metered; the app's route shares it). */
  readonly forwardAuth: ForwardAuth
  readonly metrics: AuthMetrics
  readonly config: Config
  readonly store: Store & { clear(): Promise<void> }
  readonly clock: ManualClock
  readonly signingKeys: SigningKeys
  readonly audit: AuditTrail
  readonly logs: Record<string, unknown>[]
  /** The internal API app (served on `INTERNAL_PORT`), when `INTERNAL_API_SECRET` is set. */
  readonly internalApp: Hono | undefined
  /** The user directory standalone bridges get in process. */
  readonly users: UserDirectory
  /** Its place among the replicas on its store: never started, so it looks when a test does. */
  readonly replicas: ReplicaWatch
  /** `app.request` with a path relative to the issuer. */
  request(path: string, init?: RequestInit): Promise<Response>
  close(): Promise<void>
}

export const TEST_ISSUER = 'http://localhost:8080'

/** The audit lines the server wrote so far (standard output), oldest first. */
export const auditLines = (server: TestAuthServer) =>
  server.logs.filter((line) => line.audit === true)

/** What a forward-auth proxy sends `/verify` for a POST to the echo service of `TEST_ISSUER`. */
export const ECHO_FORWARDED_HEADERS = {
  'X-Forwarded-Proto': 'http',
  'X-Forwarded-Host': 'localhost:8080',
  'X-Forwarded-Uri': '/echo/mcp',
  'X-Forwarded-Method': 'POST',
} as const

/**
 * The real authorization server app on the run's Redis (its own key prefix), a manual clock and
 * a logger whose lines the test can read. `restartOf` gives it another server's store and clock:
 * that gateway started again, with `env` as its new configuration.
 */
export async function createTestAuthServer(
  env: Record<string, string> = {},
  parts: {
    resolveHost?: LookupFunction
    restartOf?: TestAuthServer
    /** A store of the test's own (a Redis it pauses or stops), instead of the run's. */
    store?: Store & { clear(): Promise<void> }
  } = {}
): Promise<TestAuthServer> {
  const config = loadConfig({ AUTH_ISSUER: TEST_ISSUER, LOG_LEVEL: 'info', ...env })
  const { restartOf, store: ownStore, ...composed } = parts
  const store = restartOf?.store ?? ownStore ?? createTestRedisStore()
  const clock = restartOf?.clock ?? manualClock()
  const logs: Record<string, unknown>[] = []
  const logger: Logger = createLogger(config.logLevel, {
    write: (line: string) => {
      logs.push(JSON.parse(line) as Record<string, unknown>)
    },
  })
  const { deps, app, forwardAuth, internalApp, users, replicas } = await composeAuthServer({
    config,
    store,
    clock,
    logger,
    ...composed,
  })
  return {
    app,
    forwardAuth,
    metrics: deps.metrics as AuthMetrics,
    config,
    store,
    clock,
    signingKeys: deps.signingKeys,
    audit: deps.audit,
    logs,
    internalApp,
    users,
    replicas,
    request: (path, init) => Promise.resolve(app.request(`${TEST_ISSUER}${path}`, init)),
    async close() {
      deps.signingKeys.stop()
      await store.clear()
      await store.close()
    },
  }
}

/** POSTs a JSON registration request. */
export function registerClient(
  server: TestAuthServer,
  body: unknown,
  headers: Record<string, string> = {}
) {
  return server.request('/register', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
  })
}
