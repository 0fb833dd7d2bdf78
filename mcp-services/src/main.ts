import { STATUS_CODES } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { serve } from '@hono/node-server'
import { createBridge } from './bridge.ts'
import { metricsApp } from './bridge-metrics.ts'
import { findService, serviceCatalog } from './catalog.ts'
import { childUserAdvice } from './child-user.ts'
import { answerClientErrors } from './client-errors.ts'
import {
  assertChildUserUsable,
  assertListenerGuarded,
  type BridgeConfig,
  BridgeConfigError,
  parseBridgeConfig,
} from './config.ts'
import { environmentSchema } from './config-environment.ts'
import { misspeltSettings } from './config-spelling.ts'
import { gracefulClose, listenerOptions, stopIfCannotListen } from './http-server.ts'
import { jsonRpcError, SERVER_ERROR } from './json-rpc-error.ts'
import { createLogger } from './logger.ts'
import { collectProcessMetrics } from './process-metrics.ts'
import { onStopSignals } from './stop-signals.ts'
import { httpUserDirectory } from './user-directory.ts'

/**
 * `npm run start:service -- <name>`: serves one catalog service on `HOST:PORT` until SIGTERM or
 * SIGINT, then drains its requests and ends every child before exiting.
 */
const name = process.argv[2]
const service = name === undefined ? undefined : findService(name)
if (!service) {
  const names = serviceCatalog.map((entry) => entry.name).join(', ')
  process.stderr.write(`usage: start:service <name>   (one of: ${names})\n`)
  process.exit(2)
}

let config: BridgeConfig
try {
  config = parseBridgeConfig(process.env)
  assertListenerGuarded(config)
  assertChildUserUsable(config)
} catch (error) {
  if (!(error instanceof BridgeConfigError)) throw error
  process.stderr.write(`configuration error: ${error.message}\n`)
  process.exit(2)
}
const logger = createLogger(config.logLevel, undefined, config.logFormat)
for (const { name, meant } of misspeltSettings(
  process.env,
  new Set(Object.keys(environmentSchema.shape))
)) {
  logger.warn(
    { event: 'unknown_setting', name, meant },
    `${name} is not a setting of this bridge (ignored); did you mean ${meant}?`
  )
}
const advice = childUserAdvice(config.childUser, process.getuid?.())
if (advice) logger.warn({ event: 'children_as_root' }, advice)
// Behind a reverse proxy the user directory is the auth server's internal API.
const userDirectory = config.internalApi && httpUserDirectory(config.internalApi)
const bridge = createBridge({
  service,
  config,
  logger,
  sharedSecret: config.sharedSecret,
  userDirectory,
})
if (config.metrics) collectProcessMetrics(bridge.metrics.registry)
const server = serve(
  {
    fetch: bridge.app.fetch,
    port: config.port,
    hostname: config.host,
    serverOptions: listenerOptions(),
  },
  (info) => logger.info({ host: config.host, port: info.port }, 'bridge listening')
)
stopIfCannotListen(server, 'PORT')
const jsonRpcErrorShape = (status: number, description: string) =>
  jsonRpcError(SERVER_ERROR, `${STATUS_CODES[status]}: ${description}`)
answerClientErrors(server, jsonRpcErrorShape)
const closeServer = gracefulClose(server)
// Prometheus scrapes its own port, which the edge never routes (docs/metrics.md).
const metricsServer =
  config.metrics &&
  serve(
    {
      fetch: metricsApp(bridge.metrics.registry, config.metrics.token).fetch,
      port: config.metrics.port,
      hostname: config.host,
      serverOptions: listenerOptions(),
    },
    (info) => logger.info({ host: config.host, port: info.port }, 'metrics listening')
  )
if (metricsServer) {
  stopIfCannotListen(metricsServer, 'METRICS_PORT')
  answerClientErrors(metricsServer, jsonRpcErrorShape)
}

/**
 * Graceful shutdown: `/ready` answers 503 first (a proxy stops sending), the listener closes after
 * `SHUTDOWN_DELAY`, requests in flight get `SHUTDOWN_TIMEOUT`, then every session and child ends.
 * A second signal stops the process at once.
 */
async function shutdown(signal: string): Promise<void> {
  const { delayMs, timeoutMs } = config.shutdown
  logger.info({ event: 'stopping', signal, delayMs, timeoutMs }, 'shutting down')
  bridge.markNotReady('shutting down')
  await sleep(delayMs)
  // Past the timeout, the children end before connections are cut: calls still waiting on them
  // get an error to answer with (the session era's −32003), not a bare reset.
  const closed = closeServer(timeoutMs, () => bridge.close())
  bridge.drain()
  const outcome = await closed
  logger.info({ event: 'listener_closed', outcome }, 'no connection left')
  await bridge.close()
  metricsServer?.close()
  logger.info({ event: 'stopped' }, 'every child ended')
  process.exit(0)
}
onStopSignals((signal) => void shutdown(signal))
