import { request } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mintAccessToken } from '../support/access-tokens.ts'
import { forwardAuthContract } from './support/forward-auth-contract.ts'
import { type GatewayUnderProxy, startGatewayUnderProxy } from './support/gateway-under-proxy.ts'
import { startNginx } from './support/nginx.ts'
import type { RunningProxy } from './support/proxy.ts'

describe('behind nginx auth_request (/usr/sbin/nginx)', () => {
  forwardAuthContract(startNginx, { challengeOn403: false })
})

/**
 * nginx answers any Host on a server block that is the default for its port, so the host
 * `/verify` judges must come from the configuration: a client's own `Host` would have a token
 * judged for another service's host and then proxied to this block's service.
 */
describe('the host nginx forwards to /verify', () => {
  let gateway: GatewayUnderProxy
  let proxy: RunningProxy
  beforeAll(async () => {
    gateway = await startGatewayUnderProxy()
    proxy = await startNginx(gateway)
  })
  afterAll(async () => {
    await proxy?.stop()
    await gateway?.stop()
  })

  const callWithHost = (host: string, token: string) =>
    new Promise<number>((resolve, reject) => {
      const sent = request(
        {
          host: '127.0.0.1',
          port: gateway.proxyPort,
          path: '/echo/mcp',
          method: 'POST',
          headers: { Host: host, Authorization: `Bearer ${token}` },
        },
        (response) => {
          response.resume()
          resolve(response.statusCode ?? 0)
        }
      )
      sent.once('error', reject)
      sent.end()
    })

  it('is the one the server block serves, whatever Host the client sends', async () => {
    const { token } = await mintAccessToken(gateway.auth, {
      audience: `${gateway.proxyUrl}/echo/mcp`,
    })
    expect(await callWithHost(`127.0.0.1:${gateway.proxyPort}`, token)).toBe(200)
    // Judged for the configured host: the token for this service passes, as it should.
    expect(await callWithHost(`another-service.example:${gateway.proxyPort}`, token)).toBe(200)
    const seen = gateway.upstreamRequests.at(-1)?.headers ?? {}
    expect(seen['x-user-id']).toBe('1001')
  })

  it('lets through a body as large as the bridge takes (MAX_REQUEST_BODY_BYTES, 4 MiB)', async () => {
    const { token } = await mintAccessToken(gateway.auth, {
      audience: `${gateway.proxyUrl}/echo/mcp`,
    })
    const response = await fetch(`${gateway.proxyUrl}/echo/mcp`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: 'x'.repeat(4 * 1024 * 1024 - 1024),
    })
    expect(response.status).toBe(200)
    await response.arrayBuffer()
  })
})
