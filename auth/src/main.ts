import { createServer } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { serve } from '@hono/node-server'
import type { Hono } from 'hono'
import { answerClientErrors } from '../../mcp-services/src/client-errors.ts'
import type { BridgeConfig } from '../../mcp-services/src/config.ts'
import { environmentSchema as bridgeEnvironment } from '../../mcp-services/src/config-environment.ts'
import { misspeltSettings } from '../../mcp-services/src/config-spelling.ts'
import {
  gracefulClose,
  listenerOptions,
  stopIfCannotListen,
} from '../../mcp-services/src/http-server.ts'
import { collectProcessMetrics } from '../../mcp-services/src/process-metrics.ts'
import { onStopSignals, settlesWithin } from '../../mcp-services/src/stop-signals.ts'
import type { UserDirectory } from '../../mcp-services/src/user-directory.ts'
import { systemClock } from './clock.ts'
import { composeAuthServer } from './compose-auth-server.ts'
import { type Config, ConfigError, environmentSchema, loadConfig } from './config.ts'
import type { AuthDeps } from './deps.ts'
import { publicRequestListener } from './http/forward-auth-listener.ts'
import { createLogger, type Logger } from './logger.ts'
import { createAuthMetrics } from './metrics/auth-metrics.ts'
import { gatewayAllowList, letsNobodyIn } from './policy/allow-list.ts'
import type { MountedServices } from './standalone/mount-services.ts'
import { createMemoryStore } from './store/memory-store.ts'
import { createRedisStore } from './store/redis-store.ts'
import { DamagedRecord, type Store, StoreMisconfigured } from './store/store.ts'

const DAMAGED_RING_REMEDY =
  'delete that key, then restore the newest backup (npm run admin -- restore) to bring the keys back; with no backup, the next start makes a new ring, and tokens signed before stop verifying'

/** The shutdown's last commands to the store (well within the 5 s the grace period leaves). */
const STORE_FAREWELL_MS = 2_000

/** Composition root: configuration → store → keys → app (+ bridged services) → HTTP server. */
async function main(): Promise<void> {
  let config: Config
  let bridgeConfig: BridgeConfig | undefined
  try {
    config = loadConfig(process.env)
    // Standalone, the bridged services' settings are checked now too, as one configuration.
    bridgeConfig = config.mode === 'standalone' ? await standaloneBridgeConfig() : undefined
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    process.stderr.write(`configuration error: ${error.message}\n`)
    process.exit(2)
  }
  const logger = createLogger(config.logLevel, undefined, config.logFormat)
  const clock = systemClock
  const store = openStore(config, logger)
  const metrics = createAuthMetrics()
  collectProcessMetrics(metrics.registry)
  const { deps, replicas, app, forwardAuth, users, internalApp } = await composeAuthServer({
    config,
    store,
    clock,
    logger,
    metrics,
  }).catch((error: unknown) => {
    // A password Redis refuses, or a Redis of another kind than the URL names, is a
    // configuration error like any other: no stack, exit 2.
    if (error instanceof StoreMisconfigured) {
      process.stderr.write(`configuration error: REDIS_URL: ${error.message}\n`)
      process.exit(2)
    }
    // A signing-key ring changed outside the gateway: no stack either, and what to do about it.
    if (error instanceof DamagedRecord) {
      process.stderr.write(`start-up error: ${error.message}: ${DAMAGED_RING_REMEDY}\n`)
      process.exit(1)
    }
    throw error
  })
  const settings = new Set([
    ...Object.keys(environmentSchema.shape),
    ...Object.keys(bridgeEnvironment.shape),
  ])
  for (const { name, meant } of misspeltSettings(process.env, settings)) {
    logger.warn(
      { event: 'unknown_setting', name, meant },
      `${name} is not a setting of this gateway (ignored); did you mean ${meant}?`
    )
  }
  if (deps.upstream?.developmentSignIn) {
    logger.warn(
      { event: 'development_login' },
      'GITHUB_CLIENT_ID is not set: offering the development sign-in (anyone can type any name; ALLOWED_GITHUB_USERS decides who gets in)'
    )
  }
  if (letsNobodyIn(gatewayAllowList(config))) {
    logger.warn(
      { event: 'nobody_allowed' },
      'ALLOWED_GITHUB_USERS, ALLOWED_GITHUB_ORGS and ALLOWED_GITHUB_TEAMS are all empty: every sign-in is refused'
    )
  }
  if (config.metricsToken !== undefined && config.internalApi === undefined) {
    logger.warn(
      { event: 'metrics_not_served' },
      'METRICS_TOKEN is set but INTERNAL_API_SECRET is not: /metrics is served on the internal port, which does not listen without it'
    )
  }
  if (!config.dynamicClientRegistration && !config.clientIdMetadataDocuments.enabled) {
    logger.warn(
      { event: 'no_new_clients' },
      'DYNAMIC_CLIENT_REGISTRATION and CLIENT_ID_METADATA_DOCUMENTS are both false: no new client can be added; only registrations already stored (or restored from a backup) work'
    )
  }
  if (bridgeConfig?.metrics !== undefined) {
    logger.warn(
      { event: 'metrics_not_served' },
      "METRICS_PORT is set, but the standalone gateway does not serve its bridged services' metrics: only a bridge started on its own (npm run start:service) listens there"
    )
  }
  if (!deps.upstream) {
    logger.warn(
      { event: 'no_identity_provider' },
      'GITHUB_CLIENT_ID is not set and the development sign-in is off (it runs only with a loopback AUTH_ISSUER and HOST, or with DEVELOPMENT_SIGN_IN=true, never for a public https issuer, and never with DEVELOPMENT_SIGN_IN=false): nobody can sign in'
    )
  }
  replicas.start()
  const services = bridgeConfig && (await mountStandaloneServices(app, deps, bridgeConfig, users))

  // Behind Traefik (idle upstream connections pooled 90 s), Caddy or nginx with keepalive.
  const server = createServer(listenerOptions(), publicRequestListener(app, forwardAuth))
  server.listen(config.port, config.host, () => {
    logger.info(
      {
        event: 'started',
        mode: config.mode,
        issuer: config.issuer,
        address: `http://${config.host}:${config.port}`,
        resources: config.protectedResources.map((r) => r.resource),
      },
      'gateway listening'
    )
  })
  stopIfCannotListen(server, 'PORT')
  answerClientErrors(server, oauthErrorShape)
  const closeServer = gracefulClose(server)
  // The internal API: its own port, which the edge never routes (docs/internal-api.md).
  const internalServer =
    internalApp && config.internalApi
      ? serve(
          {
            fetch: internalApp.fetch,
            hostname: config.host,
            port: config.internalApi.port,
            serverOptions: listenerOptions(),
          },
          () => {
            logger.info({
              event: 'internal_api_listening',
              address: `http://${config.host}:${config.internalApi?.port}`,
            })
          }
        )
      : undefined
  if (internalServer) {
    stopIfCannotListen(internalServer, 'INTERNAL_PORT')
    answerClientErrors(internalServer, oauthErrorShape)
  }
  const closeInternalServer = internalServer && gracefulClose(internalServer)

  /**
   * Graceful shutdown (docs/operations.md): `/ready` answers 503 first so proxies stop sending,
   * everything is still served for `SHUTDOWN_DELAY`; then the listeners close and requests in
   * flight get `SHUTDOWN_TIMEOUT`; then the bridged services end their children and the store
   * connection quits. A second signal stops the process at once.
   */
  const shutdown = async (signal: string) => {
    const { delayMs, timeoutMs } = config.shutdown
    logger.info({ event: 'stopping', signal, delayMs, timeoutMs }, 'shutting down')
    deps.readiness?.stop('shutting down')
    services?.markNotReady('shutting down')
    await sleep(delayMs)
    // Past the timeout, the services' children end before connections are cut: calls still
    // waiting on them get an error to answer with, not a bare reset.
    const endServices = async () => services?.close()
    const closed = Promise.all([
      closeServer(timeoutMs, endServices),
      closeInternalServer?.(timeoutMs),
    ])
    services?.drain()
    const [outcome] = await closed
    logger.info({ event: 'listener_closed', outcome }, 'no connection left')
    await services?.close()
    deps.signingKeys.stop()
    // Withdrawing this replica and quitting the store wait on Redis, which may be what is down:
    // the exit must still come within the grace period docs/operations.md sizes.
    const farewell = replicas
      .stop()
      .catch(() => {})
      .then(() => store.close())
    if (!(await settlesWithin(farewell, STORE_FAREWELL_MS))) {
      logger.warn(
        { event: 'store_farewell_abandoned', waitedMs: STORE_FAREWELL_MS },
        'the store did not answer the last commands; exiting without them (the replica record expires by itself)'
      )
    }
    logger.info({ event: 'stopped' }, 'stopped')
    process.exit(0)
  }
  onStopSignals((signal) => void shutdown(signal))
}

/**
 * The bridge is loaded only when services run in this process: the auth image (`GATEWAY_MODE=auth`)
 * ships neither the bridge nor the MCP servers it depends on.
 */
async function mountStandaloneServices(
  app: Hono,
  deps: AuthDeps,
  bridgeConfig: BridgeConfig,
  users: UserDirectory
): Promise<MountedServices> {
  const [{ mountServices }, bridge] = await Promise.all([
    import('./standalone/mount-services.ts'),
    import('../../mcp-services/src/index.ts'),
  ])
  const { logLevel, logFormat } = deps.config
  return mountServices(
    app,
    deps,
    bridgeConfig,
    bridge.createLogger(logLevel, undefined, logFormat),
    users
  )
}

/** The bridge's settings from the environment; a mistake there is a configuration error too. */
async function standaloneBridgeConfig(): Promise<BridgeConfig> {
  // The peers of a replica are bridges on their own listeners; here every service is in-process
  // behind the token check, where a forwarded request (no token) could not pass. Said before the
  // peers' own settings are checked, which would send the operator to fix the wrong one.
  if (process.env.BRIDGE_PEERS?.trim()) {
    throw new ConfigError(
      'BRIDGE_PEERS: for bridges on their own listeners (npm run start:service, the compose MCP containers); the standalone gateway serves its services in one process: unset it'
    )
  }
  const bridge = await import('../../mcp-services/src/index.ts')
  try {
    const config = bridge.parseBridgeConfig(process.env)
    bridge.assertChildUserUsable(config)
    return config
  } catch (error) {
    if (error instanceof bridge.BridgeConfigError) throw new ConfigError(error.message)
    throw error
  }
}

function openStore(config: Config, logger: Logger): Store {
  if (config.redis) return createRedisStore(config.redis.url, config.redis.keyPrefix)
  logger.warn(
    { event: 'memory_store' },
    'REDIS_URL is not set: using an in-memory store, every client and token is lost when this process stops'
  )
  return createMemoryStore(systemClock)
}

await main()

/** What every endpoint of the auth server answers a client's mistake with (RFC 6749 §5.2). */
function oauthErrorShape(_status: number, description: string) {
  return { error: 'invalid_request', error_description: description }
}
