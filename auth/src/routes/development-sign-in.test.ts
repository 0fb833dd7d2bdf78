import { describe, expect, it } from 'vitest'
import { createTestAuthServer } from '../../../tests/support/auth-app.ts'

/** A state and challenge as the gateway sends them upstream: only the request's origin differs. */
const QUERY = `?state=${'s'.repeat(24)}&code_challenge=${'c'.repeat(43)}`

describe('/dev-login, offered on a loopback issuer without DEVELOPMENT_SIGN_IN=true', () => {
  it('answers only requests made on this machine, not through a tunnel or a proxy', async () => {
    const server = await createTestAuthServer()
    try {
      const page = (origin: string, headers: Record<string, string> = {}) =>
        Promise.resolve(server.app.request(`${origin}/dev-login${QUERY}`, { headers }))
      // The issuer's own host, as the gateway's redirect sends the browser there.
      expect((await page('http://localhost:8080')).status).toBe(200)
      expect((await page('http://localhost:8080', { Host: 'LOCALHOST:8080' })).status).toBe(200)
      // Another loopback spelling is what a local proxy's default sends.
      expect((await page('http://127.0.0.1:8080')).status).toBe(400)
      expect((await page('http://localhost:8080', { Host: '127.0.0.1:8080' })).status).toBe(400)
      // Two Host lines, whichever comes first.
      const twice = { Host: 'localhost:8080, evil.example' }
      expect((await page('http://localhost:8080', twice)).status).toBe(400)
      const tunnelled = await page('https://abc.tunnel.example')
      expect(tunnelled.status).toBe(400)
      expect(await tunnelled.text()).toContain('only requests made on this machine')
      for (const header of [
        'X-Forwarded-For',
        'Forwarded',
        'X-Real-IP',
        'Via',
        'X-Forwarded-Proto',
        'CF-Connecting-IP',
        'True-Client-IP',
      ]) {
        const proxied = await page('http://localhost:8080', { [header]: '203.0.113.9' })
        expect(proxied.status, header).toBe(400)
      }
      const posted = await server.app.request('https://abc.tunnel.example/dev-login', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: `login=alice&state=${'s'.repeat(24)}&code_challenge=${'c'.repeat(43)}`,
      })
      expect(posted.status).toBe(400)
      expect(posted.headers.get('location')).toBeNull()
      expect(await posted.text()).toContain('only requests made on this machine')
    } finally {
      await server.close()
    }
  })

  it('answers wherever it is reached once DEVELOPMENT_SIGN_IN=true asks for it', async () => {
    const server = await createTestAuthServer({ DEVELOPMENT_SIGN_IN: 'true' })
    try {
      const page = await server.app.request(`http://192.0.2.10:8080/dev-login${QUERY}`, {
        headers: { 'X-Forwarded-For': '203.0.113.9' },
      })
      expect(page.status).toBe(200)
    } finally {
      await server.close()
    }
  })
})

describe('/dev-login where GitHub is configured', () => {
  it('is not there, for HEAD as for GET', async () => {
    const server = await createTestAuthServer({
      GITHUB_CLIENT_ID: 'Iv1.0123456789abcdef',
      GITHUB_CLIENT_SECRET: 'f'.repeat(40),
    })
    try {
      for (const method of ['GET', 'HEAD']) {
        const answer = await server.request('/dev-login', { method })
        expect(answer.status, method).toBe(404)
      }
      // A page of the server keeps refusing HEAD, naming what it allows.
      const authorize = await server.request('/authorize', { method: 'HEAD' })
      expect(authorize.status).toBe(405)
      expect(authorize.headers.get('allow')).toBe('GET, POST')
    } finally {
      await server.close()
    }
  })
})
