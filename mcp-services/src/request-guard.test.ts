import { connect } from 'node:net'
import { text } from 'node:stream/consumers'
import { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requestGuard } from './request-guard.ts'
import {
  fixtureService,
  identityHeaders,
  startTestBridge,
  type TestBridge,
} from './testing/harness.ts'

describe('the CORS headers of /mcp answers', () => {
  let bridge: TestBridge
  let origin: string
  beforeAll(async () => {
    bridge = await startTestBridge(fixtureService)
    origin = new URL(bridge.url).origin
  })
  afterAll(async () => {
    await bridge.close()
  })

  const post = (headers: Record<string, string>) =>
    fetch(bridge.url, {
      method: 'POST',
      headers: { ...identityHeaders('alice'), 'Content-Type': 'application/json', ...headers },
      body: '{not json',
    })

  it('exposes the session id and varies by Origin, without allowing an origin nobody sent', async () => {
    const response = await post({})
    expect(response.status).toBe(400)
    expect(response.headers.get('access-control-expose-headers')).toBe(
      'Mcp-Session-Id,WWW-Authenticate'
    )
    expect(response.headers.get('vary')).toBe('Origin')
    expect(response.headers.has('access-control-allow-origin')).toBe(false)
    expect(await response.json()).toMatchObject({ error: { code: -32700 } })
  })

  /** A POST written by hand, with the request target and Host lines given; its answer's lines. */
  const rawPost = async (target: string, hosts: readonly string[]) => {
    const { hostname, port } = new URL(bridge.url)
    const socket = connect(Number(port), hostname)
    socket.end(
      [
        `POST ${target} HTTP/1.1`,
        ...hosts.map((host) => `Host: ${host}`),
        ...Object.entries(identityHeaders('alice')).map(([name, value]) => `${name}: ${value}`),
        'Content-Type: application/json',
        'Accept: application/json, text/event-stream',
        'Content-Length: 2',
        'Connection: close',
        '',
        '{}',
      ].join('\r\n')
    )
    return (await text(socket)).split('\r\n')
  }

  it('answers a request with two Host lines 400, in either order (RFC 9112 §3.2)', async () => {
    const own = new URL(bridge.url).host
    for (const hosts of [
      ['evil.example', own],
      [own, 'evil.example'],
    ]) {
      const answer = await rawPost('/mcp', hosts)
      expect(answer[0], hosts.join(' then ')).toBe('HTTP/1.1 400 Bad Request')
      expect(answer.at(-1)).toContain('more than one Host header')
    }
  })

  it('judges an absolute request target by its own host, not the Host line (RFC 9112 §3.2.2)', async () => {
    const own = new URL(bridge.url).host
    const forbidden = 'HTTP/1.1 403 Forbidden'
    expect((await rawPost('http://evil.example/mcp', [own]))[0]).toBe(forbidden)
    expect((await rawPost(`http://${own}/mcp`, ['evil.example']))[0]).not.toBe(forbidden)
  })

  it('compares the Host name without its port or case, IPv6 literals too', async () => {
    const { port } = new URL(bridge.url)
    const forbidden = 'HTTP/1.1 403 Forbidden'
    for (const host of [`LocalHost:${port}`, `[::1]:${port}`, '127.0.0.1']) {
      expect((await rawPost('/mcp', [host]))[0], host).not.toBe(forbidden)
    }
    for (const host of [`localhost.evil.example:${port}`, `[::2]:${port}`, `127.0.0.2:${port}`]) {
      expect((await rawPost('/mcp', [host]))[0], host).toBe(forbidden)
    }
  })

  it('allows the origin a browser on the same origin sent', async () => {
    const response = await post({ Origin: origin })
    expect(response.headers.get('access-control-allow-origin')).toBe(origin)
    expect(response.headers.get('vary')).toBe('Origin')
    await response.arrayBuffer()
  })

  it('answers another method 405, listing every method /mcp answers, OPTIONS too', async () => {
    const response = await fetch(bridge.url, { method: 'PUT', headers: identityHeaders('alice') })
    expect(response.status).toBe(405)
    expect(response.headers.get('allow')).toBe('GET, POST, DELETE, OPTIONS')
  })

  it('answers a preflight with what the transport needs', async () => {
    const response = await fetch(bridge.url, {
      method: 'OPTIONS',
      headers: {
        Origin: origin,
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'content-type',
      },
    })
    expect(response.status).toBe(204)
    expect(response.headers.get('access-control-allow-origin')).toBe(origin)
    expect(response.headers.get('access-control-allow-methods')).toBe('GET,POST,DELETE,OPTIONS')
    expect(response.headers.get('access-control-allow-headers')).toContain('Mcp-Protocol-Version')
    expect(response.headers.get('access-control-max-age')).toBe('600')
    expect(response.headers.get('vary')).toBe('Origin, Access-Control-Request-Headers')
  })

  it('allows the Mcp-Param-* headers a preflight asks for, and no other header beyond the list', async () => {
    const response = await fetch(bridge.url, {
      method: 'OPTIONS',
      headers: {
        Origin: origin,
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'content-type, mcp-param-region, x-injected, mcp-param-',
      },
    })
    expect(response.status).toBe(204)
    const allowed = (response.headers.get('access-control-allow-headers') ?? '')
      .split(',')
      .map((name) => name.trim().toLowerCase())
    expect(allowed).toContain('mcp-param-region')
    expect(allowed).toContain('mcp-protocol-version')
    expect(allowed).not.toContain('x-injected')
    expect(allowed).not.toContain('mcp-param-')
  })
})

describe('the same-origin check', () => {
  const guarded = (publicUrl?: string) =>
    new Hono()
      .use('/mcp', ...requestGuard({ allowedHosts: '*', allowedOrigins: [], publicUrl }))
      .post('/mcp', (c) => c.text('served'))
      .options('/mcp', (c) => c.body(null, 204))
  const post = (app: Hono, url: string, headers: Record<string, string>) =>
    Promise.resolve(app.request(url, { method: 'POST', headers }))

  it('compares the scheme a proxy reports, not only the host', async () => {
    const app = guarded()
    const behindTls = { Host: 'echo.example.com', 'X-Forwarded-Proto': 'https' }
    const same = await post(app, 'http://echo.example.com/mcp', {
      ...behindTls,
      Origin: 'https://echo.example.com',
    })
    expect(same.status).toBe(200)
    const plain = await post(app, 'http://echo.example.com/mcp', {
      ...behindTls,
      Origin: 'http://echo.example.com',
    })
    expect(plain.status).toBe(403)
    expect(await plain.json()).toMatchObject({ error: { code: -32000 } })
    const preflight = await app.request('http://echo.example.com/mcp', {
      method: 'OPTIONS',
      headers: {
        ...behindTls,
        Origin: 'http://echo.example.com',
        'Access-Control-Request-Method': 'POST',
      },
    })
    expect(preflight.status).toBe(403)
  })

  it('takes the request’s own scheme from a client that talks to the bridge directly', async () => {
    const app = guarded()
    const headers = { Host: '127.0.0.1:3000' }
    expect(
      (
        await post(app, 'http://127.0.0.1:3000/mcp', {
          ...headers,
          Origin: 'http://127.0.0.1:3000',
        })
      ).status
    ).toBe(200)
    expect(
      (
        await post(app, 'http://127.0.0.1:3000/mcp', {
          ...headers,
          Origin: 'https://127.0.0.1:3000',
        })
      ).status
    ).toBe(403)
    expect(
      (
        await post(app, 'http://127.0.0.1:3000/mcp', {
          ...headers,
          Origin: 'http://127.0.0.1:3001',
        })
      ).status
    ).toBe(403)
  })

  it('takes the public URL’s scheme for its host when no proxy says, and ignores default ports', async () => {
    const app = guarded('https://gateway.example.com/echo/mcp')
    const atPublicHost = (origin: string, host = 'gateway.example.com') =>
      post(app, 'http://gateway.example.com/mcp', { Host: host, Origin: origin })
    expect((await atPublicHost('https://gateway.example.com')).status).toBe(200)
    expect(
      (await atPublicHost('https://gateway.example.com', 'gateway.example.com:443')).status
    ).toBe(200)
    expect((await atPublicHost('http://gateway.example.com')).status).toBe(403)
    // Another host name of the same process (a local browser): its own scheme.
    const local = await post(app, 'http://localhost:8080/mcp', {
      Host: 'localhost:8080',
      Origin: 'http://localhost:8080',
    })
    expect(local.status).toBe(200)
  })

  it('lets a configured origin through whatever its scheme', async () => {
    const app = new Hono()
      .use('/mcp', ...requestGuard({ allowedHosts: '*', allowedOrigins: ['http://tool.example'] }))
      .post('/mcp', (c) => c.text('served'))
    const response = await post(app, 'http://echo.example.com/mcp', {
      Host: 'echo.example.com',
      'X-Forwarded-Proto': 'https',
      Origin: 'http://tool.example',
    })
    expect(response.status).toBe(200)
  })
})
