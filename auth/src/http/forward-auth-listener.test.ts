import { once } from 'node:events'
import { Agent, createServer, request as httpRequest, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mintAccessToken } from '../../../tests/support/access-tokens.ts'
import {
  createTestAuthServer,
  ECHO_FORWARDED_HEADERS,
  type TestAuthServer,
} from '../../../tests/support/auth-app.ts'
import { publicRequestListener } from './forward-auth-listener.ts'

/**
 * The public port as `main.ts` serves it: `/verify` answered by the Node listener in front of the
 * app, every other path by the app. Both must answer `/verify` alike.
 */
describe('the public listener', () => {
  let server: TestAuthServer
  let listener: Server
  let origin: string
  beforeAll(async () => {
    // Tokens are minted below for any user: the gateway's own list admits them all.
    server = await createTestAuthServer({ ALLOWED_GITHUB_USERS: '*' })
    listener = createServer(publicRequestListener(server.app, server.forwardAuth))
    listener.listen(0, '127.0.0.1')
    await once(listener, 'listening')
    origin = `http://127.0.0.1:${(listener.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    listener.closeAllConnections()
    listener.close()
    await server.close()
  })

  const identity = (response: Response) =>
    Object.fromEntries(
      [...response.headers].filter(([name]) => /^x-|^www-authenticate$|^cache-control$/.test(name))
    )

  it('answers /verify as the app route does, allowed and refused', async () => {
    const { token } = await mintAccessToken(server)
    for (const authorization of [`Bearer ${token}`, 'Bearer not-a-token', undefined]) {
      const headers = {
        ...ECHO_FORWARDED_HEADERS,
        ...(authorization ? { Authorization: authorization } : {}),
      }
      const viaListener = await fetch(`${origin}/verify`, { headers })
      const viaApp = await server.request('/verify', { headers })
      expect(viaListener.status).toBe(viaApp.status)
      expect(identity(viaListener)).toEqual(identity(viaApp))
      expect(viaListener.headers.get('content-length')).toBe('0')
      expect(await viaListener.text()).toBe('')
    }
    // Counted there as the app's middleware counts its routes (and the app's route here).
    const counted = await server.metrics.registry.getSingleMetricAsString(
      'auth_http_requests_total'
    )
    expect(counted).toMatch(/route="\/verify",status="2xx",error=""} 2/)
    expect(counted).toMatch(/route="\/verify",status="4xx",error=""} 4/)
  })

  it('takes /verify with a query, and leaves every other path to the app', async () => {
    const { token } = await mintAccessToken(server)
    const headers = { ...ECHO_FORWARDED_HEADERS, Authorization: `Bearer ${token}` }
    expect((await fetch(`${origin}/verify?from=proxy`, { headers })).status).toBe(200)
    for (const path of ['/verify/', '/verifyx', '/verify/x']) {
      const response = await fetch(`${origin}${path}`, { headers })
      expect(response.status, path).toBe(404)
      expect(await response.json()).toMatchObject({ error: 'not_found' })
    }
    const metadata = await fetch(`${origin}/.well-known/oauth-authorization-server`)
    expect(metadata.status).toBe(200)
  })

  it('drains a POST body, so the connection serves the next request', async () => {
    const { token } = await mintAccessToken(server)
    const { port } = listener.address() as AddressInfo
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    const post = (body: string) =>
      new Promise<{ status: number; socket: unknown }>((resolve, reject) => {
        const req = httpRequest(
          {
            host: '127.0.0.1',
            port,
            path: '/verify',
            method: 'POST',
            agent,
            headers: {
              ...ECHO_FORWARDED_HEADERS,
              Authorization: `Bearer ${token}`,
              'Content-Type': 'application/json',
              'Content-Length': Buffer.byteLength(body),
            },
          },
          (response) => {
            response.resume()
            response.on('end', () =>
              resolve({ status: response.statusCode ?? 0, socket: req.socket })
            )
          }
        )
        req.on('error', reject)
        req.end(body)
      })
    const first = await post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }))
    const second = await post('x'.repeat(100_000))
    const third = await post('')
    expect([first.status, second.status, third.status]).toEqual([200, 200, 200])
    expect(second.socket).toBe(first.socket)
    expect(third.socket).toBe(first.socket)
    agent.destroy()
  })
})
