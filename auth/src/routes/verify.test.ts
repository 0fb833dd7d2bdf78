import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mintAccessToken } from '../../../tests/support/access-tokens.ts'
import { createTestAuthServer, type TestAuthServer } from '../../../tests/support/auth-app.ts'
import { revokeAccessToken } from '../oauth/revocation.ts'
import { keys } from '../store/keys.ts'
import { IDENTITY_HEADERS } from '../verify/identity-headers.ts'

const ECHO = 'http://localhost:8080/echo/mcp'
const MEMORY = 'http://localhost:8080/memory/mcp'
const ECHO_METADATA = 'http://localhost:8080/.well-known/oauth-protected-resource/echo/mcp'

/** The headers Traefik and Caddy send to the auth server for a request to `path`. */
const forwarded = (path = '/echo/mcp', extra: Record<string, string> = {}) => ({
  'X-Forwarded-Proto': 'http',
  'X-Forwarded-Host': 'localhost:8080',
  'X-Forwarded-Uri': path,
  'X-Forwarded-Method': 'POST',
  ...extra,
})

describe('GET|POST /verify', () => {
  let server: TestAuthServer
  const verify = (headers: Record<string, string>, method = 'GET') =>
    server.request('/verify', { method, headers })

  beforeAll(async () => {
    server = await createTestAuthServer({
      // Tokens are minted below for any user: the gateway's own list admits them all.
      ALLOWED_GITHUB_USERS: '*',
      MCP_MEMORY_ENABLED: 'true',
      MCP_MEMORY_ALLOWED_USERS: 'alice, id:2002',
      MCP_MEMORY_ALLOWED_ORGS: 'acme',
    })
  })
  afterAll(() => server.close())

  it('answers 200 with every identity header and an empty, sized body', async () => {
    const { token } = await mintAccessToken(server, { name: 'The Octocat' })
    for (const method of ['GET', 'POST']) {
      const response = await verify({ ...forwarded(), Authorization: `Bearer ${token}` }, method)
      expect(response.status).toBe(200)
      expect(response.headers.get('content-length')).toBe('0')
      expect(await response.text()).toBe('')
      expect(response.headers.get('x-user-id')).toBe('1001')
      expect(response.headers.get('x-user-name')).toBe('octocat')
      expect(response.headers.get('x-user-email')).toBe('octocat@example.com')
      expect(response.headers.get('x-client-id')).toBe('client-1')
      expect(response.headers.get('x-auth-scopes')).toBe('mcp')
      expect(response.headers.get('authorization')).toBeNull()
    }
  })

  it('sends unknown identity values as empty headers, never omits them', async () => {
    const { token } = await mintAccessToken(server, { email: '' })
    const response = await verify({ ...forwarded(), Authorization: `Bearer ${token}` })
    expect(response.status).toBe(200)
    for (const name of IDENTITY_HEADERS) expect(response.headers.has(name)).toBe(true)
    expect(response.headers.get('x-user-email')).toBe('')
  })

  it('rebuilds the resource from every proxy convention', async () => {
    const { token } = await mintAccessToken(server)
    const auth = { Authorization: `Bearer ${token}` }
    const conventions: Record<string, string>[] = [
      forwarded('/echo/mcp?session=1'),
      forwarded('/echo/mcp/'),
      { 'X-Original-URL': 'http://localhost:8080/echo/mcp' },
      {
        'X-Forwarded-Proto': 'http',
        'X-Forwarded-Host': 'localhost:8080',
        'X-Original-URI': '/echo/mcp',
      },
      { ...forwarded('/echo/mcp'), 'X-Original-URI': '/echo/mcp' },
    ]
    for (const headers of conventions) {
      expect((await verify({ ...headers, ...auth })).status, JSON.stringify(headers)).toBe(200)
    }
  })

  it('refuses targets that are not a protected resource, or that the headers disagree on', async () => {
    const { token } = await mintAccessToken(server)
    const auth = { Authorization: `Bearer ${token}` }
    const targets: Record<string, string>[] = [
      {},
      forwarded('/echo/mcpx'),
      forwarded('/echo/mcp', { 'X-Forwarded-Host': 'evil.example' }),
      forwarded('/echo/mcp', { 'X-Forwarded-Proto': 'https' }),
      forwarded('/echo/mcp', { 'X-Original-URI': '/memory/mcp' }),
      forwarded('/echo/mcp', { 'X-Original-URL': 'http://localhost:8080/memory/mcp' }),
      { 'X-Original-URL': 'javascript:alert(1)' },
      // A host that is not one (`a b`) is refused outright: forwarded-path.test.ts.
    ]
    for (const headers of targets) {
      const response = await verify({ ...headers, ...auth })
      expect(response.status, JSON.stringify(headers)).toBe(401)
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/)
    }
  })

  it('challenges a request without a token with the resource metadata only', async () => {
    const response = await verify(forwarded())
    expect(response.status).toBe(401)
    expect(response.headers.get('www-authenticate')).toBe(
      `Bearer scope="mcp", resource_metadata="${ECHO_METADATA}"`
    )
    expect(response.headers.get('content-length')).toBe('0')
    expect(response.headers.get('x-user-id')).toBeNull()
    // Proxies hand a refusal to the client as it is: a browser client must read the challenge.
    expect(response.headers.get('access-control-allow-origin')).toBe('*')
    expect(response.headers.get('access-control-expose-headers')).toBe('WWW-Authenticate')
  })

  it('names no metadata for a path that is no resource, on an origin with several', async () => {
    // Here echo and memory share the origin, so its root metadata form answers 404.
    const response = await verify(forwarded('/nope/mcp'))
    expect(response.status).toBe(401)
    expect(response.headers.get('www-authenticate')).toBe('Bearer')
    const { token } = await mintAccessToken(server)
    const withToken = await verify({ ...forwarded('/nope/mcp'), Authorization: `Bearer ${token}` })
    expect(withToken.status).toBe(401)
    expect(withToken.headers.get('www-authenticate')).toMatch(
      /^Bearer error="invalid_token", error_description="[^"]+"$/
    )
  })

  it('refuses a token issued for another resource', async () => {
    const { token } = await mintAccessToken(server, { audience: MEMORY, login: 'alice' })
    const response = await verify({ ...forwarded(), Authorization: `Bearer ${token}` })
    expect(response.status).toBe(401)
    expect(response.headers.get('www-authenticate')).toBe(
      `Bearer error="invalid_token", error_description="the access token is not for this resource", scope="mcp", resource_metadata="${ECHO_METADATA}"`
    )
    const both = await mintAccessToken(server, { audience: [MEMORY, ECHO] })
    expect((await verify({ ...forwarded(), Authorization: `Bearer ${both.token}` })).status).toBe(
      200
    )
  })

  it('refuses a revoked token and a token of a revoked family within a second', async () => {
    const single = await mintAccessToken(server)
    const family = await mintAccessToken(server, { familyId: 'family-1' })
    for (const { token } of [single, family]) {
      expect((await verify({ ...forwarded(), Authorization: `Bearer ${token}` })).status).toBe(200)
    }
    await revokeAccessToken(server.store, server.clock, single.claims.jti, single.claims.exp)
    await server.store.put(keys.revokedFamily('family-1'), '1', { ttlSeconds: 3600 })
    server.clock.advance(1_001)
    for (const { token } of [single, family]) {
      const response = await verify({ ...forwarded(), Authorization: `Bearer ${token}` })
      expect(response.status).toBe(401)
      expect(response.headers.get('www-authenticate')).toContain('error="invalid_token"')
    }
  })

  it('refuses an expired token even after it was cached', async () => {
    const { token } = await mintAccessToken(server, { ttlSeconds: 60 })
    expect((await verify({ ...forwarded(), Authorization: `Bearer ${token}` })).status).toBe(200)
    server.clock.advance(61_000)
    expect((await verify({ ...forwarded(), Authorization: `Bearer ${token}` })).status).toBe(401)
  })

  it('answers 403 insufficient_scope with the scope the service requires', async () => {
    const { token } = await mintAccessToken(server, { scope: 'profile' })
    const response = await verify({ ...forwarded(), Authorization: `Bearer ${token}` })
    expect(response.status).toBe(403)
    expect(response.headers.get('www-authenticate')).toBe(
      `Bearer error="insufficient_scope", error_description="the access token lacks a scope this service requires", scope="mcp", resource_metadata="${ECHO_METADATA}"`
    )
  })

  it("applies the service's user and organisation policy", async () => {
    const at = (login: string, orgs?: string[]) =>
      mintAccessToken(server, { audience: MEMORY, login, ...(orgs ? { orgs } : {}) })
    const memory = forwarded('/memory/mcp')
    const alice = await at('Alice')
    expect((await verify({ ...memory, Authorization: `Bearer ${alice.token}` })).status).toBe(200)
    const member = await at('bob', ['ACME'])
    expect((await verify({ ...memory, Authorization: `Bearer ${member.token}` })).status).toBe(200)
    const stranger = await at('mallory', ['other'])
    const refused = await verify({ ...memory, Authorization: `Bearer ${stranger.token}` })
    expect(refused.status).toBe(403)
    expect(refused.headers.get('www-authenticate')).toContain('error="access_denied"')
    // The default policy admits everyone the gateway lets in.
    const echo = await mintAccessToken(server, { login: 'mallory' })
    expect((await verify({ ...forwarded(), Authorization: `Bearer ${echo.token}` })).status).toBe(
      200
    )
  })

  it("matches the service's user list by GitHub id (the token's sub), whatever the login", async () => {
    const memory = forwarded('/memory/mcp')
    const at = async (id: string, login: string) => {
      const { token } = await mintAccessToken(server, { audience: MEMORY, id, login })
      return verify({ ...memory, Authorization: `Bearer ${token}` })
    }
    expect((await at('2002', 'renamed-since')).status).toBe(200)
    // Someone else under a login the listed id once had, or any other id, is refused.
    expect((await at('3003', 'id-2002-old-login')).status).toBe(403)
    expect((await at('20020', 'x')).status).toBe(403)
  })

  it('lets CORS preflights through without a token, with empty identity headers', async () => {
    const viaHeader = await verify({ ...forwarded(), 'X-Forwarded-Method': 'OPTIONS' })
    expect(viaHeader.status).toBe(200)
    expect(viaHeader.headers.get('x-user-id')).toBe('')
    const direct = await verify(forwarded(), 'OPTIONS')
    expect(direct.status).toBe(200)
  })

  it('logs refusals without the token', async () => {
    const { token } = await mintAccessToken(server, { scope: 'none' })
    await verify({ ...forwarded(), Authorization: `Bearer ${token}` })
    const line = server.logs.findLast((entry) => entry.event === 'verify_denied')
    expect(line).toMatchObject({ error: 'insufficient_scope', reason: 'scope' })
    expect(JSON.stringify(server.logs)).not.toContain(token)
  })
})

describe('/verify refusal lines', () => {
  it('writes at most REFUSAL_LOG_RATE a second, whatever a caller sends', async () => {
    const server = await createTestAuthServer({ REFUSAL_LOG_RATE: '5' })
    try {
      for (let i = 0; i < 40; i += 1) {
        const response = await server.request('/verify', {
          headers: { ...forwarded(), Authorization: `Bearer garbage.${i}.garbage` },
        })
        expect(response.status).toBe(401)
      }
      expect(server.logs.filter((line) => line.event === 'verify_denied')).toHaveLength(5)
      // The next second writes again.
      server.clock.advance(1000)
      await server.request('/verify', {
        headers: { ...forwarded(), Authorization: 'Bearer garbage.again.garbage' },
      })
      expect(server.logs.filter((line) => line.event === 'verify_denied')).toHaveLength(6)
    } finally {
      await server.close()
    }
  })
})

describe('refusal lines of the other endpoints', () => {
  it('are bounded as /verify’s: at most REFUSAL_LOG_RATE of each kind a second', async () => {
    const server = await createTestAuthServer({ REFUSAL_LOG_RATE: '3' })
    try {
      for (let i = 0; i < 10; i += 1) {
        const revoked = await server.request('/revoke', {
          method: 'POST',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
          body: `token=abc&client_id=nobody-${i}`,
        })
        expect(revoked.status).toBe(401)
        const page = await server.request(`/authorize?client_id=nobody-${i}`)
        expect(page.status).toBe(400)
      }
      const count = (event: string) => server.logs.filter((line) => line.event === event).length
      expect(count('request_refused')).toBe(3)
      expect(count('authorization_refused')).toBe(3)
    } finally {
      await server.close()
    }
  })
})
