import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestAuthServer, type TestAuthServer } from '../../tests/support/auth-app.ts'

describe('the app, for requests no endpoint takes', () => {
  let server: TestAuthServer
  beforeAll(async () => {
    server = await createTestAuthServer()
  })
  afterAll(() => server.close())

  it.each([
    ['GET', '/token', 'POST'],
    ['PUT', '/revoke', 'POST'],
    ['GET', '/register', 'POST'],
    ['PATCH', '/register/some-client', 'DELETE, GET, HEAD, PUT'],
    ['POST', '/jwks', 'GET, HEAD'],
    ['DELETE', '/.well-known/oauth-protected-resource/echo/mcp', 'GET, HEAD'],
    ['PUT', '/authorize', 'GET, POST'],
  ])('%s %s: 405 allowing %s (RFC 9110 §15.5.6)', async (method, path, allow) => {
    const response = await server.request(path, { method })
    expect(response.status).toBe(405)
    expect(response.headers.get('allow')).toBe(allow)
    expect(await response.json()).toEqual({
      error: 'invalid_request',
      error_description: `${method} is not allowed here`,
    })
  })

  it.each([
    ['/authorize?client_id=x', 'GET, POST'],
    ['/callback?code=x&state=y', 'GET'],
    ['/device?user_code=ABCD-EFGH', 'GET, POST'],
    ['/account', 'GET'],
  ])(
    'HEAD %s: 405, a page whose GET changes something is not run for a HEAD',
    async (path, allow) => {
      const before = server.logs.length
      const response = await server.request(path, { method: 'HEAD' })
      expect(response.status).toBe(405)
      expect(response.headers.get('allow')).toBe(allow)
      // Nothing of the page ran: it logs and records nothing.
      expect(server.logs.slice(before).filter((line) => line.audit === true)).toEqual([])
    }
  )

  it('answers HEAD where GET only reads', async () => {
    for (const path of ['/.well-known/oauth-authorization-server', '/jwks', '/health']) {
      expect((await server.request(path, { method: 'HEAD' })).status, path).toBe(200)
    }
  })

  it('answers a path nothing serves with 404, whatever the method', async () => {
    for (const method of ['GET', 'POST']) {
      const response = await server.request('/tokens', { method })
      expect(response.status).toBe(404)
      expect(response.headers.get('allow')).toBeNull()
      expect(await response.json()).toEqual({
        error: 'not_found',
        error_description: 'no such endpoint',
      })
    }
  })
})
