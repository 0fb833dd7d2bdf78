import { serve } from '@hono/node-server'
import { createBridge } from './bridge.ts'
import { findService, serviceCatalog } from './catalog.ts'
import { assertListenerGuarded, type BridgeConfig, parseBridgeConfig } from './config.ts'
import { keepConnectionsLonger } from './http-server.ts'
import { createLogger } from './logger.ts'
import { httpUserDirectory } from './user-directory.ts'

/**
 * `npm run start:service -- <name>`: serves one catalog service on `HOST:PORT` until SIGTERM or
 * SIGINT, then ends every child before exiting.
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
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(2)
}
const logger = createLogger(config.logLevel, undefined, config.logFormat)
// Behind a reverse proxy the user directory is the auth server's internal API.
const userDirectory = config.internalApi && httpUserDirectory(config.internalApi)
const bridge = createBridge({
  service,
  config,
  logger,
  sharedSecret: config.sharedSecret,
  userDirectory,
})
const server = serve(
  { fetch: bridge.app.fetch, port: config.port, hostname: config.host },
  (info) => logger.info({ host: config.host, port: info.port }, 'bridge listening')
)

keepConnectionsLonger(server)

let stopping = false
async function shutdown(signal: string): Promise<void> {
  if (stopping) return
  stopping = true
  logger.info({ signal }, 'shutting down')
  server.close()
  await bridge.close()
  logger.info('every child ended')
  process.exit(0)
}
process.once('SIGTERM', () => void shutdown('SIGTERM'))
process.once('SIGINT', () => void shutdown('SIGINT'))
