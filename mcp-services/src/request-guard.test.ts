import { afterAll, beforeAll, describe, expect, it } from 'vitest'
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

  it('allows the origin a browser on the same origin sent', async () => {
    const response = await post({ Origin: origin })
    expect(response.headers.get('access-control-allow-origin')).toBe(origin)
    expect(response.headers.get('vary')).toBe('Origin')
    await response.arrayBuffer()
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
