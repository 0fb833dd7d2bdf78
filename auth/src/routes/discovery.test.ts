import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createTestAuthServer,
  TEST_ISSUER,
  type TestAuthServer,
} from '../../../tests/support/auth-app.ts'

describe('discovery', () => {
  let server: TestAuthServer
  beforeAll(async () => {
    server = await createTestAuthServer({ MCP_MEMORY_ENABLED: 'true' })
  })
  afterAll(async () => {
    await server.close()
  })

  it('serves the same RFC 8414 document as OAuth and OpenID metadata, issuer byte for byte', async () => {
    const paths = ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']
    const documents = await Promise.all(
      paths.map(async (path) => (await server.request(path)).text())
    )
    expect(new Set(documents).size).toBe(1)
    const metadata = JSON.parse(documents[0] ?? '{}') as Record<string, unknown>
    expect(metadata.issuer).toBe(TEST_ISSUER)
    expect(metadata.registration_endpoint).toBe(`${TEST_ISSUER}/register`)
    expect(metadata.jwks_uri).toBe(`${TEST_ISSUER}/jwks`)
  })

  const expectJsonNotFound = async (response: Response, what: string) => {
    expect(response.status, what).toBe(404)
    expect(response.headers.get('content-type'), what).toMatch(/^application\/json/)
    expect(((await response.json()) as Record<string, unknown>).error, what).toBe('not_found')
  }

  it('answers 404 below the metadata addresses: with no issuer path, a path names another issuer (RFC 8414 §3.1)', async () => {
    for (const name of ['oauth-authorization-server', 'openid-configuration']) {
      for (const suffix of ['/anything', '/echo/mcp', '/', '//', '/.well-known/x']) {
        const path = `/.well-known/${name}${suffix}`
        const response = await server.request(path, {
          headers: { Origin: 'https://inspector.example' },
        })
        // A browser client must see the 404 to fall back to the root form.
        expect(response.headers.get('access-control-allow-origin'), path).toBe('*')
        await expectJsonNotFound(response, path)
      }
    }
  })

  it('refuses an issuer with a path, whose endpoints it would advertise where it does not serve them', async () => {
    await expect(
      createTestAuthServer({ AUTH_ISSUER: 'http://localhost:8080/gateway' })
    ).rejects.toThrow(/^AUTH_ISSUER: must be an origin without a path/)
  })

  it('advertises only endpoints that answer', async () => {
    const metadata = (await (
      await server.request('/.well-known/oauth-authorization-server')
    ).json()) as Record<string, unknown>
    const endpoints = Object.entries(metadata).filter(
      ([name]) => name.endsWith('_endpoint') || name === 'jwks_uri'
    )
    expect(endpoints.length).toBeGreaterThan(1)
    for (const [, url] of endpoints) {
      const path = new URL(url as string).pathname
      const statuses = [
        (await server.request(path)).status,
        (await server.request(path, { method: 'POST' })).status,
      ]
      expect(statuses, path).not.toEqual([404, 404])
    }
  })

  it('answers browsers with CORS on discovery documents', async () => {
    const response = await server.request('/.well-known/oauth-authorization-server', {
      headers: { Origin: 'https://inspector.example' },
    })
    expect(response.headers.get('access-control-allow-origin')).toBe('*')
  })

  it('serves protected resource metadata in the path-inserted form for each resource', async () => {
    for (const name of ['echo', 'memory']) {
      const response = await server.request(`/.well-known/oauth-protected-resource/${name}/mcp`)
      expect(response.status).toBe(200)
      const metadata = (await response.json()) as Record<string, unknown>
      expect(metadata.resource).toBe(`${TEST_ISSUER}/${name}/mcp`)
      expect(metadata.authorization_servers).toEqual([TEST_ISSUER])
      expect(metadata.scopes_supported).toEqual(['mcp'])
      expect(metadata.scopes_supported).not.toContain('offline_access')
    }
  })

  it('answers a JSON 404 for resources it does not protect, never another resource (RFC 9728 §3.1)', async () => {
    for (const path of [
      '/unknown/mcp',
      '/everything/mcp', // in the catalog, not enabled here
      '/echo/mcp/x',
      '/echo',
      '/ECHO/mcp',
      '/echo%2Fmcp',
      '//echo/mcp',
      '/',
      // Two resources share the standalone origin, so the root form names none of them.
      '',
    ]) {
      const address = `/.well-known/oauth-protected-resource${path}`
      await expectJsonNotFound(await server.request(address), address)
    }
  })

  it('sends /authorize on a service host (a client that missed discovery) to the issuer', async () => {
    const compose = await createTestAuthServer({
      AUTH_ISSUER: 'https://auth.example.com',
      BASE_DOMAIN: 'example.com',
    })
    try {
      const query = '?response_type=code&client_id=abc&state=xyz'
      const response = await compose.app.request(`https://echo.example.com/authorize${query}`)
      expect(response.status).toBe(302)
      expect(response.headers.get('location')).toBe(`https://auth.example.com/authorize${query}`)
      // On the issuer itself it is the authorization endpoint (here: an unknown client's page).
      const own = await compose.app.request(`https://auth.example.com/authorize${query}`)
      expect(own.status).toBe(400)
    } finally {
      await compose.close()
    }
  })

  it('derives the resource from the forwarded host on service hosts (compose mode)', async () => {
    const compose = await createTestAuthServer({
      AUTH_ISSUER: 'https://auth.example.com',
      BASE_DOMAIN: 'example.com',
    })
    try {
      const forwarded = { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'echo.example.com' }
      for (const path of [
        '/.well-known/oauth-protected-resource/mcp',
        '/.well-known/oauth-protected-resource',
      ]) {
        const response = await compose.request(path, { headers: forwarded })
        expect(response.status, path).toBe(200)
        const metadata = (await response.json()) as Record<string, unknown>
        expect(metadata.resource).toBe('https://echo.example.com/mcp')
        expect(metadata.authorization_servers).toEqual(['https://auth.example.com'])
      }
      // nginx names the port of its block, default or not; a shared cache keys on the host.
      const withPort = await compose.request('/.well-known/oauth-protected-resource/mcp', {
        headers: { ...forwarded, 'X-Forwarded-Host': 'echo.example.com:443' },
      })
      expect(((await withPort.json()) as { resource: string }).resource).toBe(
        'https://echo.example.com/mcp'
      )
      expect(withPort.headers.get('vary')).toMatch(/X-Forwarded-Host/)
      const spoofed = await compose.request('/.well-known/oauth-protected-resource/mcp', {
        headers: { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'evil.example.net' },
      })
      expect(spoofed.status).toBe(404)
      // A service host publishes its one resource, and nothing under another path.
      for (const path of ['/other', '/mcp/x', '/echo/mcp']) {
        const address = `/.well-known/oauth-protected-resource${path}`
        await expectJsonNotFound(await compose.request(address, { headers: forwarded }), address)
      }
      // The issuer's own host protects nothing.
      await expectJsonNotFound(
        await compose.app.request('https://auth.example.com/.well-known/oauth-protected-resource'),
        'the issuer host'
      )
    } finally {
      await compose.close()
    }
  })

  it('publishes the signing key with a kid and no private parts', async () => {
    const response = await server.request('/jwks')
    const jwks = (await response.json()) as { keys: Record<string, unknown>[] }
    expect(jwks.keys).toHaveLength(1)
    const [key] = jwks.keys
    expect(key).toMatchObject({
      kty: 'EC',
      crv: 'P-256',
      alg: 'ES256',
      use: 'sig',
      kid: server.signingKeys.current().kid,
    })
    for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(key).not.toHaveProperty(secret)
  })

  it('reports health and readiness', async () => {
    expect(await (await server.request('/health')).json()).toEqual({ status: 'ok' })
    expect(await (await server.request('/ready')).json()).toEqual({ status: 'ready' })
  })
})
