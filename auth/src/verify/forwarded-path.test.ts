import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mintAccessToken } from '../../../tests/support/access-tokens.ts'
import { createTestAuthServer, type TestAuthServer } from '../../../tests/support/auth-app.ts'
import { publicRequestListener } from '../http/forward-auth-listener.ts'

const ECHO = 'http://localhost:8080/echo/mcp'
const MEMORY = 'http://localhost:8080/memory/mcp'

/**
 * Forwarded paths a proxy, the service behind it and `/verify` could each read as a different
 * path. Before they were refused, `/verify` resolved them as WHATWG URL does (`\` is `/`,
 * `%2e%2e` is `..`) or took them literally (`%2f`, `;`, `//`), so a token for one resource was
 * let through to a path another server could route elsewhere.
 */
const AMBIGUOUS: readonly (readonly [string, string])[] = [
  ['a dot-dot segment', '/memory/mcp/../../echo/mcp'],
  ['a dot segment', '/echo/./mcp'],
  ['a trailing dot-dot', '/echo/mcp/x/..'],
  ['a percent-encoded dot-dot', '/memory/mcp/%2e%2e/%2e%2e/echo/mcp'],
  ['a mixed-case encoded dot-dot', '/memory/mcp/%2E./.%2E/echo/mcp'],
  ['an encoded slash', '/echo/mcp/..%2f..%2fmemory/mcp'],
  ['an encoded upper-case slash', '/echo/mcp%2F..%2F..%2Fmemory%2Fmcp'],
  ['an encoded backslash', '/echo/mcp/..%5c..%5cmemory/mcp'],
  ['a backslash', '/memory\\mcp'],
  ['backslash dot-dots', '/memory/mcp\\..\\..\\echo/mcp'],
  ['a doubly encoded dot-dot', '/echo/mcp/%252e%252e/%252e%252e/memory/mcp'],
  ['a dot-dot with a path parameter', '/echo/mcp/..;/..;/memory/mcp'],
  ['an empty segment', '/echo//mcp'],
  ['a network-path reference', '//evil.example/echo/mcp'],
  ['an encoded letter', '/%65cho/mcp'],
  ['an encoded NUL', '/echo/mcp%00'],
  ['a tab', '/ech\to/mcp'],
  ['a fragment', '/echo/mcp#/../../memory/mcp'],
  ['a raw space', '/echo/mcp/a b'],
  ['a raw non-ASCII byte', '/echo/mcp/caf\u00e9'],
  ['a stray percent sign', '/echo/mcp/%zz'],
]

/**
 * Forwarded hosts carrying more than a host and a port, as a proxy that copies the client's
 * `Host` forwards them. Before they were refused, `localhost:8080\\echo\\mcp?` with the path
 * `/memory/mcp` was read as `/echo/mcp` with a query, and a token for echo got into memory.
 */
const AMBIGUOUS_HOSTS: readonly (readonly [string, string])[] = [
  ['backslashes and a question mark', 'localhost:8080\\echo\\mcp?'],
  ['a path and a question mark', 'localhost:8080/echo/mcp?'],
  ['a path and a fragment', 'localhost:8080/echo/mcp#'],
  ['user information', 'evil@localhost:8080'],
  ['a percent-encoded letter', 'local%68ost:8080'],
  ['a tab', 'local\thost:8080'],
  ['a port that is not a number', 'localhost:80a'],
]

/** Paths in normal form, each for the echo service; the query is no part of the judgement. */
const NORMAL = [
  '/echo/mcp',
  '/echo/mcp/',
  '/echo/mcp/sub/path',
  '/echo/mcp?next=../../memory/mcp&slash=%2f',
  '/echo/mcp/caf%C3%A9',
  '/echo/mcp/a%20b%3Fc',
  "/echo/mcp/v1:run@host;v=1!$&'()*+,=~",
  '/echo/mcp/file.json/.well',
]

describe('/verify and forwarded paths that normalisation would change', () => {
  let server: TestAuthServer
  let listener: Server
  let origin: string
  let bothResources: string
  beforeAll(async () => {
    // Tokens are minted below for any user: the gateway's own list admits them all.
    server = await createTestAuthServer({
      ALLOWED_GITHUB_USERS: '*',
      MCP_MEMORY_ENABLED: 'true',
      // Each refusal's reason is read from its line: none may be left to the count of the rest.
      REFUSAL_LOG_RATE: '0',
    })
    listener = createServer(publicRequestListener(server.app, server.forwardAuth))
    listener.listen(0, '127.0.0.1')
    await once(listener, 'listening')
    origin = `http://127.0.0.1:${(listener.address() as AddressInfo).port}`
    // Valid for both services, so nothing but the path rule can refuse a request.
    bothResources = (await mintAccessToken(server, { audience: [ECHO, MEMORY] })).token
  })
  afterAll(async () => {
    listener.closeAllConnections()
    listener.close()
    await server.close()
  })

  const verify = (headers: Record<string, string>) =>
    fetch(`${origin}/verify`, { headers: { Authorization: `Bearer ${bothResources}`, ...headers } })
  const viaForwardedUri = (path: string) => ({
    'X-Forwarded-Proto': 'http',
    'X-Forwarded-Host': 'localhost:8080',
    'X-Forwarded-Uri': path,
  })
  const viaOriginalUri = (path: string) => ({
    'X-Forwarded-Proto': 'http',
    'X-Forwarded-Host': 'localhost:8080',
    'X-Original-URI': path,
  })
  const viaOriginalUrl = (path: string) => ({ 'X-Original-URL': `http://localhost:8080${path}` })

  const expectRefused = async (response: Response) => {
    expect(response.status).toBe(403)
    expect(response.headers.get('x-user-id')).toBeNull()
    expect(response.headers.get('content-length')).toBe('0')
    expect(response.headers.get('cache-control')).toBe('no-store')
  }

  it.each(AMBIGUOUS)('refuses %s (%s) with 403 in every convention', async (_, path) => {
    for (const headers of [viaForwardedUri(path), viaOriginalUri(path), viaOriginalUrl(path)]) {
      await expectRefused(await verify(headers))
    }
  })

  it.each(NORMAL)('lets %s through', async (path) => {
    for (const headers of [viaForwardedUri(path), viaOriginalUri(path), viaOriginalUrl(path)]) {
      const response = await verify(headers)
      expect(response.status, JSON.stringify(headers)).toBe(200)
      expect(response.headers.get('x-user-id')).toBe('1001')
    }
  })

  it('refuses before any token is looked at, and logs why', async () => {
    const response = await fetch(`${origin}/verify`, {
      headers: viaForwardedUri('/memory/mcp/%2e%2e/%2e%2e/echo/mcp'),
    })
    await expectRefused(response)
    // No challenge: signing in again would not make the path any clearer.
    expect(response.headers.get('www-authenticate')).toBeNull()
    expect(server.logs.findLast((line) => line.event === 'verify_denied')).toMatchObject({
      error: 'access_denied',
      reason: 'ambiguous_path',
    })
  })

  it('refuses an ambiguous path beside a clean one from another header', async () => {
    await expectRefused(
      await verify({ ...viaForwardedUri('/echo/mcp'), 'X-Original-URI': '/echo/./mcp' })
    )
  })

  it.each(AMBIGUOUS_HOSTS)('refuses a forwarded host with %s (%s)', async (_, host) => {
    for (const name of ['X-Forwarded-Uri', 'X-Original-URI']) {
      await expectRefused(
        await verify({
          'X-Forwarded-Proto': 'http',
          'X-Forwarded-Host': host,
          [name]: '/memory/mcp',
        })
      )
    }
    expect(server.logs.findLast((line) => line.event === 'verify_denied')).toMatchObject({
      reason: 'ambiguous_host',
    })
    // Without X-Forwarded-Host the Host header is read, under the same rule.
    const viaHost = await server.request('/verify', {
      headers: { Authorization: `Bearer ${bothResources}`, Host: host, 'X-Forwarded-Uri': '/x' },
    })
    await expectRefused(viaHost)
  })

  it('refuses an X-Original-URL whose authority is more than a host and a port', async () => {
    for (const url of [
      'http://user@localhost:8080/echo/mcp',
      'http://local%68ost:8080/echo/mcp',
      'http://localhost:8080\\echo/mcp',
      'http:///echo/mcp',
    ]) {
      await expectRefused(await verify({ 'X-Original-URL': url }))
    }
  })

  it('refuses a forwarding header that holds a list, whichever entry would match', async () => {
    for (const headers of [
      { 'X-Forwarded-Proto': 'http', 'X-Forwarded-Host': 'localhost:8080,evil.example' },
      { 'X-Forwarded-Proto': 'http', 'X-Forwarded-Host': 'evil.example, localhost:8080' },
      { 'X-Forwarded-Proto': 'http, https', 'X-Forwarded-Host': 'localhost:8080' },
    ]) {
      await expectRefused(await verify({ ...headers, 'X-Forwarded-Uri': '/memory/mcp' }))
    }
    // The header sent twice arrives as a list too.
    const twice = await fetch(`${origin}/verify`, {
      headers: [
        ['Authorization', `Bearer ${bothResources}`],
        ['X-Forwarded-Proto', 'http'],
        ['X-Forwarded-Host', 'localhost:8080'],
        ['X-Forwarded-Host', 'localhost:8080'],
        ['X-Forwarded-Uri', '/memory/mcp'],
      ],
    })
    await expectRefused(twice)
    expect(server.logs.findLast((line) => line.event === 'verify_denied')).toMatchObject({
      reason: 'ambiguous_host',
    })
    // So does a path header sent twice, whose first entry would make the second a query.
    for (const [name, first, second] of [
      ['X-Forwarded-Uri', '/echo/mcp?', '/memory/mcp'],
      ['X-Original-URI', '/echo/mcp?', '/memory/mcp'],
      ['X-Original-URL', 'http://localhost:8080/echo/mcp?', 'http://localhost:8080/memory/mcp'],
    ] as const) {
      const repeated = await fetch(`${origin}/verify`, {
        headers: [
          ['Authorization', `Bearer ${bothResources}`],
          ['X-Forwarded-Proto', 'http'],
          ['X-Forwarded-Host', 'localhost:8080'],
          [name, first],
          [name, second],
        ],
      })
      await expectRefused(repeated)
      expect(server.logs.findLast((line) => line.event === 'verify_denied')).toMatchObject({
        reason: 'ambiguous_path',
      })
    }
  })

  it('answers the app route alike', async () => {
    const response = await server.request('/verify', {
      headers: { Authorization: `Bearer ${bothResources}`, ...viaForwardedUri('/echo//mcp') },
    })
    await expectRefused(response)
  })
})
