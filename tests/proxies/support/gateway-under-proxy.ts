import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { publicRequestListener } from '../../../auth/src/http/forward-auth-listener.ts'
import { createTestAuthServer, type TestAuthServer } from '../../support/auth-app.ts'
import { freePort } from '../../support/free-port.ts'

/**
 * What sits behind a proxy under test: the real authorization server listening on a loopback port
 * (its `/verify` is the proxy's forward-auth target) and an upstream that answers with the headers
 * it received. The issuer is the proxy's own address, so the protected resources are
 * `<proxy>/echo/mcp` and `<proxy>/memory/mcp`, as in standalone mode behind a reverse proxy.
 */
export interface GatewayUnderProxy {
  readonly auth: TestAuthServer
  readonly proxyPort: number
  readonly proxyUrl: string
  readonly authPort: number
  readonly upstreamPort: number
  readonly bridgeSecret: string
  /** Headers of every request the upstream received, oldest first. */
  readonly upstreamRequests: { method: string; url: string; headers: IncomingHttpHeaders }[]
  stop(): Promise<void>
}

export async function startGatewayUnderProxy(): Promise<GatewayUnderProxy> {
  const proxyPort = await freePort()
  const proxyUrl = `http://127.0.0.1:${proxyPort}`
  const auth = await createTestAuthServer({
    // Tokens are minted for any user: the gateway's own list admits them all.
    ALLOWED_GITHUB_USERS: '*',
    AUTH_ISSUER: proxyUrl,
    MCP_MEMORY_ENABLED: 'true',
  })
  // Served as `main.ts` serves it: `/verify` by the Node listener in front of the app.
  const authServer = createServer(publicRequestListener(auth.app, auth.forwardAuth))
  authServer.listen(0, '127.0.0.1')
  await listening(authServer)

  const upstreamRequests: GatewayUnderProxy['upstreamRequests'] = []
  const upstream = createServer((request, response) => {
    upstreamRequests.push({
      method: request.method ?? '',
      url: request.url ?? '',
      headers: request.headers,
    })
    const body = JSON.stringify(request.headers)
    response.writeHead(200, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(body),
    })
    response.end(body)
  })
  upstream.listen(0, '127.0.0.1')
  await listening(upstream)

  return {
    auth,
    proxyPort,
    proxyUrl,
    authPort: (authServer.address() as AddressInfo).port,
    upstreamPort: (upstream.address() as AddressInfo).port,
    bridgeSecret: 'proxy-test-bridge-secret-0123456789abcdef',
    upstreamRequests,
    async stop() {
      await Promise.all([close(authServer), close(upstream)])
      await auth.close()
    },
  }
}

function listening(server: Server): Promise<void> {
  return server.listening
    ? Promise.resolve()
    : new Promise((resolve) => server.once('listening', () => resolve()))
}

function close(server: Server): Promise<void> {
  server.closeAllConnections()
  return new Promise((resolve) => server.close(() => resolve()))
}
