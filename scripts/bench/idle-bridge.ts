import { fileURLToPath } from 'node:url'
import { serve } from '@hono/node-server'
import { createBridge } from '../../mcp-services/src/bridge.ts'
import { findService } from '../../mcp-services/src/catalog.ts'
import { parseBridgeConfig } from '../../mcp-services/src/config.ts'
import { createLogger } from '../../mcp-services/src/logger.ts'

/**
 * The bridge as `start:service echo` runs it (same config from the environment, same app), but
 * each session's child is `stand-in-server.sh` instead of the echo server: what the bridge keeps
 * per session does not depend on the child, and 1,000 Node children would need 40 GB. Catalog
 * children always run on the Node running the bridge, so this process (a benchmark, nothing
 * else) names the shell as that executable before the bridge resolves its launch.
 */
const echo = findService('echo')
if (!echo) throw new Error('no echo service in the catalog')
const standIn = fileURLToPath(new URL('./stand-in-server.sh', import.meta.url))
process.execPath = '/bin/sh'

const config = parseBridgeConfig(process.env)
const logger = createLogger(config.logLevel, undefined, 'json')
const bridge = createBridge({
  service: { ...echo, launch: { kind: 'module', path: standIn }, passIdentity: false },
  config,
  logger,
})
// The benchmark checks it holds every session it opened; `/health` does not tell the public.
const fetch = (request: Request) =>
  new URL(request.url).pathname === '/bench/sessions'
    ? Response.json({ sessions: bridge.sessionCount() })
    : bridge.app.fetch(request)
const server = serve({ fetch, port: config.port, hostname: config.host })

// The benchmark asks for a full collection before it reads the resident set (run with --expose-gc).
process.on('SIGUSR2', () => (globalThis as { gc?: () => void }).gc?.())
process.once('SIGTERM', async () => {
  server.close()
  await bridge.close()
  process.exit(0)
})
