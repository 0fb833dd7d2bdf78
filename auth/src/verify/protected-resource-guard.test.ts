import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { expectDefaultIdentity, mintAccessToken } from '../../../tests/support/access-tokens.ts'
import { createTestAuthServer, type TestAuthServer } from '../../../tests/support/auth-app.ts'
import { systemClock } from '../clock.ts'
import { errorLogs, toOAuthResponse } from '../http/error-response.ts'
import { createLogger } from '../logger.ts'
import { protectedResourceGuard } from './protected-resource-guard.ts'

describe('protectedResourceGuard (standalone mode)', () => {
  let server: TestAuthServer
  let app: Hono
  let url: string
  let close: () => void

  beforeAll(async () => {
    // Tokens are minted below for any user: the gateway's own list admits them all.
    server = await createTestAuthServer({ ALLOWED_GITHUB_USERS: '*' })
    const echo = server.config.protectedResources.find((r) => r.service.name === 'echo')
    if (!echo) throw new Error('echo is enabled by default')
    const deps = { ...server, logger: createLogger('silent') }
    app = new Hono()
    app.use('/echo/mcp', protectedResourceGuard(deps, echo))
    app.all('/echo/mcp', (c) => c.json(Object.fromEntries(c.req.raw.headers)))
    app.onError((error, c) => toOAuthResponse(error, c, errorLogs(deps.logger, 0, systemClock)))
    const listening = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 })
    await new Promise((resolve) => listening.once('listening', resolve))
    url = `http://127.0.0.1:${(listening.address() as AddressInfo).port}/echo/mcp`
    close = () => listening.close()
  })
  afterAll(async () => {
    close()
    await server.close()
  })

  it('passes the identity on, overwriting client-sent values, and drops Authorization', async () => {
    const { token } = await mintAccessToken(server)
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${token}`,
        'X-User-Id': 'admin',
        'X-User-Email': 'forged@example.com',
      },
    })
    expect(response.status).toBe(200)
    const seen = (await response.json()) as Record<string, string>
    expectDefaultIdentity(seen)
  })

  it('challenges a request without a token, naming the resource metadata', async () => {
    const response = await fetch(url, { method: 'POST', headers: { 'X-User-Id': 'admin' } })
    expect(response.status).toBe(401)
    expect(response.headers.get('www-authenticate')).toBe(
      'Bearer scope="mcp", resource_metadata="http://localhost:8080/.well-known/oauth-protected-resource/echo/mcp"'
    )
    // A browser client must read the challenge to find where to sign in.
    expect(response.headers.get('access-control-allow-origin')).toBe('*')
    expect(response.headers.get('access-control-expose-headers')).toBe('WWW-Authenticate')
  })

  it('answers 403 insufficient_scope and 401 for another audience', async () => {
    const narrow = await mintAccessToken(server, { scope: 'other' })
    const refused = await app.request(url, { headers: { Authorization: `Bearer ${narrow.token}` } })
    expect(refused.status).toBe(403)
    expect(refused.headers.get('www-authenticate')).toContain('scope="mcp"')
    const elsewhere = await mintAccessToken(server, { audience: 'https://elsewhere.example/mcp' })
    const wrong = await app.request(url, {
      headers: { Authorization: `Bearer ${elsewhere.token}` },
    })
    expect(wrong.status).toBe(401)
  })

  it('lets a CORS preflight through with empty identity headers', async () => {
    const response = await fetch(url, { method: 'OPTIONS', headers: { 'X-User-Id': 'admin' } })
    expect(response.status).toBe(200)
    expect(((await response.json()) as Record<string, string>)['x-user-id']).toBe('')
  })
})
