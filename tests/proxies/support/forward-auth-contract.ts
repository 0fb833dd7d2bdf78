import { request } from 'node:http'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { revokeAccessToken } from '../../../auth/src/oauth/revocation.ts'
import { IDENTITY_HEADERS } from '../../../auth/src/verify/identity-headers.ts'
import { SHARED_SECRET_HEADER } from '../../../mcp-services/src/shared-secret.ts'
import {
  expectDefaultIdentity,
  type MintOptions,
  mintAccessToken,
} from '../../support/access-tokens.ts'
import { type GatewayUnderProxy, startGatewayUnderProxy } from './gateway-under-proxy.ts'
import type { RunningProxy, StartProxy } from './proxy.ts'

export interface ContractOptions {
  /** nginx `auth_request` copies `WWW-Authenticate` on 401 only, never on 403. */
  readonly challengeOn403: boolean
}

/**
 * The DESIGN §5 contract as seen by a client and an MCP server through a real proxy: registers the
 * tests inside the caller's `describe`.
 */
export function forwardAuthContract(startProxy: StartProxy, options: ContractOptions): void {
  let gateway: GatewayUnderProxy
  let proxy: RunningProxy
  let echo: string
  let memory: string

  const token = async (mint: MintOptions = {}) => (await mintAccessToken(gateway.auth, mint)).token
  const call = (headers: Record<string, string> = {}, url = echo, method = 'POST') =>
    fetch(url, { method, headers })
  const lastUpstream = () => gateway.upstreamRequests.at(-1)

  beforeAll(async () => {
    gateway = await startGatewayUnderProxy()
    proxy = await startProxy(gateway)
    echo = `${gateway.proxyUrl}/echo/mcp`
    memory = `${gateway.proxyUrl}/memory/mcp`
  })
  afterAll(async () => {
    await proxy?.stop()
    await gateway?.stop()
  })

  it('challenges a request without a token, and the challenge reaches the client', async () => {
    const before = gateway.upstreamRequests.length
    const response = await call()
    expect(response.status, proxy.output()).toBe(401)
    expect(response.headers.get('www-authenticate')).toBe(
      `Bearer scope="mcp", resource_metadata="${gateway.proxyUrl}/.well-known/oauth-protected-resource/echo/mcp"`
    )
    // Readable by a browser client, whose preflight the service has let through.
    expect(response.headers.get('access-control-allow-origin')).toBe('*')
    expect(response.headers.get('access-control-expose-headers')).toBe('WWW-Authenticate')
    expect(gateway.upstreamRequests.length).toBe(before)
  })

  it('serves the metadata the challenge names, without a token, past the check', async () => {
    const challenge = (await call()).headers.get('www-authenticate') ?? ''
    const url = /resource_metadata="([^"]+)"/.exec(challenge)?.[1] ?? ''
    const response = await fetch(url)
    expect(response.status, proxy.output()).toBe(200)
    expect(((await response.json()) as { resource: string }).resource).toBe(echo)
    expect(gateway.upstreamRequests.some((request) => request.url.includes('well-known'))).toBe(
      false
    )
  })

  it('passes a valid token on as identity headers, without the token', async () => {
    const response = await call({ Authorization: `Bearer ${await token()}` })
    expect(response.status, proxy.output()).toBe(200)
    // Past the check the service answers CORS itself: the proxy adds nothing.
    expect(response.headers.get('access-control-allow-origin')).toBeNull()
    const seen = (await response.json()) as Record<string, string>
    expectDefaultIdentity(seen)
  })

  it('adds the bridge’s shared secret to what it forwards, over any value the client sent', async () => {
    const response = await call({
      Authorization: `Bearer ${await token()}`,
      [SHARED_SECRET_HEADER]: 'guessed',
    })
    expect(response.status, proxy.output()).toBe(200)
    expect(lastUpstream()?.headers[SHARED_SECRET_HEADER.toLowerCase()]).toBe(gateway.bridgeSecret)
  })

  it('overwrites identity headers the client sent, even ones the token has no value for', async () => {
    const forged = Object.fromEntries(IDENTITY_HEADERS.map((name) => [name, 'forged']))
    const response = await call({
      ...forged,
      Authorization: `Bearer ${await token({ email: '' })}`,
    })
    expect(response.status).toBe(200)
    const seen = lastUpstream()?.headers ?? {}
    expect(seen['x-user-id']).toBe('1001')
    expect(seen['x-user-name']).toBe('octocat')
    // Empty identity values arrive empty (Caddy) or not at all (nginx drops empty headers).
    expect(seen['x-user-email'] ?? '').toBe('')
  })

  it('keeps every identity header when the client names them hop-by-hop in Connection', async () => {
    // A proxy drops the fields the client's `Connection` lists (RFC 9110 §7.6.1), the ones the
    // check copied in included, unless it drops that `Connection` first. (fetch cannot send it.)
    const authorization = `Bearer ${await token()}`
    const status = await new Promise<number>((resolve, reject) => {
      const sent = request(echo, {
        method: 'POST',
        headers: {
          Authorization: authorization,
          Connection: IDENTITY_HEADERS.join(', '),
          'Content-Length': '0',
        },
      })
      sent.on('response', (response) => {
        response.resume()
        resolve(response.statusCode ?? 0)
      })
      sent.on('error', reject)
      sent.end()
    })
    expect(status, proxy.output()).toBe(200)
    expectDefaultIdentity((lastUpstream()?.headers ?? {}) as Record<string, string>)
  })

  it('never passes on a header a service could read as an identity header', async () => {
    // A proxy overwrites only the exact names it copies: `/verify` refuses the lookalikes it is
    // shown (Caddy, Traefik), and nginx drops names with underscores before asking.
    const before = gateway.upstreamRequests.length
    const response = await call({ X_User_Id: 'forged', Authorization: `Bearer ${await token()}` })
    expect([200, 403], proxy.output()).toContain(response.status)
    for (const request of gateway.upstreamRequests.slice(before)) {
      expect(Object.keys(request.headers)).not.toContain('x_user_id')
    }
  })

  it('refuses a revoked token', async () => {
    const { token: revoked, claims } = await mintAccessToken(gateway.auth)
    expect((await call({ Authorization: `Bearer ${revoked}` })).status).toBe(200)
    await revokeAccessToken(gateway.auth.store, gateway.auth.clock, claims.jti, claims.exp)
    gateway.auth.clock.advance(1_001)
    const response = await call({ Authorization: `Bearer ${revoked}` })
    expect(response.status).toBe(401)
    expect(response.headers.get('www-authenticate')).toContain('error="invalid_token"')
  })

  it('refuses a token issued for another resource, however the client dresses the request', async () => {
    const forMemory = await token({ audience: memory })
    expect((await call({ Authorization: `Bearer ${forMemory}` }, memory)).status).toBe(200)
    const spoofs: Record<string, string>[] = [
      {},
      { 'X-Forwarded-Uri': '/memory/mcp', 'X-Forwarded-Host': `127.0.0.1:${gateway.proxyPort}` },
      { 'X-Original-URI': '/memory/mcp' },
      { 'X-Original-URL': memory },
    ]
    for (const spoof of spoofs) {
      const response = await call({ ...spoof, Authorization: `Bearer ${forMemory}` })
      expect(response.status, JSON.stringify(spoof)).toBe(401)
    }
  })

  it('answers 403 for a token without the scope the service requires', async () => {
    const response = await call({ Authorization: `Bearer ${await token({ scope: 'profile' })}` })
    expect(response.status).toBe(403)
    if (options.challengeOn403) {
      expect(response.headers.get('www-authenticate')).toContain(
        'error="insufficient_scope", error_description="the access token lacks a scope this service requires", scope="mcp"'
      )
    }
  })

  it('lets CORS preflights through to the service without a token', async () => {
    const response = await call(
      { Origin: 'https://inspector.example', 'X-User-Id': 'forged' },
      echo,
      'OPTIONS'
    )
    expect(response.status).toBe(200)
    expect(lastUpstream()?.method).toBe('OPTIONS')
    expect(lastUpstream()?.headers['x-user-id'] ?? '').toBe('')
  })

  it('never lets a garbage credential become a proxy error', async () => {
    for (const authorization of [
      'Bearer',
      'Bearer a.b.c',
      `Bearer ${'x'.repeat(6_000)}`,
      'Basic Og==',
    ]) {
      const response = await call({ Authorization: authorization })
      expect(response.status, authorization).toBe(401)
    }
  })
}
