import { decodeJwt } from 'jose'
import { describe, expect, it } from 'vitest'
import { ECHO_FORWARDED_HEADERS, type TestAuthServer } from '../../../tests/support/auth-app.ts'
import type { FakeGitHub } from '../../../tests/support/fake-github.ts'
import {
  clientRequest,
  exchangeCode,
  obtainCode,
  type RegisteredClient,
  registerTestClient,
  tokenRequest,
  useFlowServer,
} from '../../../tests/support/oauth-flow.ts'
import { hashSecret } from '../oauth/secrets.ts'

type Tokens = { access_token: string; refresh_token: string }

/** The headers a proxy sends to /verify for a request to the echo service. */
const toEcho = (accessToken: string) => ({
  ...ECHO_FORWARDED_HEADERS,
  Authorization: `Bearer ${accessToken}`,
})

/**
 * Parallel sessions of one client (Claude Code's, claude.ai's) redeem the same refresh token at
 * the same moment. Within REFRESH_TOKEN_REUSE_GRACE they all get the same successor and nobody is
 * signed out; after it, a replaced token presented again still revokes the whole family.
 */
describe('refresh token reuse grace', () => {
  let github: FakeGitHub
  let server: TestAuthServer
  // 1,000 token requests from one address are over the default per-caller limit (300/min).
  useFlowServer({ ALLOWED_GITHUB_USERS: 'alice', TOKEN_RATE_LIMIT: '5000' }, (fixture) => {
    ;({ github, server } = fixture)
  })

  const signIn = async (): Promise<{ client: RegisteredClient; tokens: Tokens }> => {
    const client = await registerTestClient(server)
    const { code, pkce } = await obtainCode(server, client)
    const tokens = (await (await exchangeCode(server, client, code, pkce)).json()) as Tokens
    return { client, tokens }
  }
  const refresh = (client: RegisteredClient, refreshToken: string) =>
    tokenRequest(server, client, { grant_type: 'refresh_token', refresh_token: refreshToken })
  const family = (tokens: Tokens) => decodeJwt(tokens.access_token).fam as string
  const verify = (accessToken: string) =>
    server.request('/verify', { headers: toEcho(accessToken) }).then((r) => r.status)

  it('gives 1,000 concurrent redemptions the same successor, with one check at GitHub', async () => {
    const { client, tokens } = await signIn()
    github.clearRequests()
    const responses = await Promise.all(
      Array.from({ length: 1_000 }, () => refresh(client, tokens.refresh_token))
    )
    expect(responses.map((response) => response.status)).toEqual(Array(1_000).fill(200))
    const refreshed = (await Promise.all(responses.map((r) => r.json()))) as Tokens[]
    const successors = new Set(refreshed.map((t) => t.refresh_token))
    expect(successors.size).toBe(1)
    expect(successors.has(tokens.refresh_token)).toBe(false)
    expect(new Set(refreshed.map(family))).toEqual(new Set([family(tokens)]))
    expect(new Set(refreshed.map((t) => decodeJwt(t.access_token).jti)).size).toBe(1_000)
    expect(await server.store.get(`revoked:family:${family(tokens)}`)).toBeNull()
    // Concurrent re-checks of the user share their round trips (coalesced), the rest skip it.
    const userReads = github.requests.filter((r) => r.server === 'api' && r.path === '/user')
    expect(userReads.length).toBeGreaterThan(0)
    expect(userReads.length).toBeLessThanOrEqual(5)
    expect(server.logs.some((line) => line.event === 'refresh_token.reuse_detected')).toBe(false)

    const [successor] = successors
    const next = await refresh(client, successor ?? '')
    expect(next.status).toBe(200)
    expect(await verify(refreshed[999]?.access_token ?? '')).toBe(200)
  })

  it('revokes the family when the replaced token comes back after the grace', async () => {
    const { client, tokens } = await signIn()
    const first = (await (await refresh(client, tokens.refresh_token)).json()) as Tokens
    server.clock.advance(29_000)
    expect((await refresh(client, tokens.refresh_token)).status).toBe(200)
    // Past the grace by both clocks: the gateway's, and the store's TTL on the successor record.
    server.clock.advance(2_000)
    await server.store.delete(`refresh-successor:${hashSecret(tokens.refresh_token)}`)

    const late = await refresh(client, tokens.refresh_token)
    expect(late.status).toBe(400)
    expect(await late.json()).toMatchObject({ error: 'invalid_grant' })
    expect(await server.store.get(`revoked:family:${family(tokens)}`)).toBe('1')
    expect((await refresh(client, first.refresh_token)).status).toBe(400)
    expect(await verify(first.access_token)).toBe(401)
    expect(server.logs.some((line) => line.event === 'refresh_token.reuse_detected')).toBe(true)
  })

  it('gives the successor while the store keeps its record, whatever the gateway clock says', async () => {
    const { client, tokens } = await signIn()
    const logged = server.logs.length
    const first = (await (await refresh(client, tokens.refresh_token)).json()) as Tokens
    // The store ran the rotation late (a pause, a stalled connection): the rotating gateway's
    // clock is past the grace already, the record's TTL, started by the store, is not.
    server.clock.advance(45_000)
    const retried = await refresh(client, tokens.refresh_token)
    expect(retried.status).toBe(200)
    expect(((await retried.json()) as Tokens).refresh_token).toBe(first.refresh_token)
    expect(await server.store.get(`revoked:family:${family(tokens)}`)).toBeNull()
    const events = server.logs.slice(logged).map((line) => line.event)
    expect(events).not.toContain('refresh_token.reuse_detected')
  })

  it('revokes the family when the replaced token comes back within the grace after the chain moved on', async () => {
    const { client, tokens } = await signIn()
    const second = (await (await refresh(client, tokens.refresh_token)).json()) as Tokens
    const third = (await (await refresh(client, second.refresh_token)).json()) as Tokens
    // The first token's successor was itself rotated: handing it out again would mint an access
    // token for whoever holds the first, with nothing detected.
    const late = await refresh(client, tokens.refresh_token)
    expect(late.status).toBe(400)
    expect(await late.json()).toMatchObject({ error: 'invalid_grant' })
    expect(await server.store.get(`revoked:family:${family(tokens)}`)).toBe('1')
    expect(await verify(third.access_token)).toBe(401)
  })

  it('keeps two sessions that refresh within a second both working, twice over', async () => {
    const { client, tokens } = await signIn()
    // Two processes hold the same refresh token (one credential store, read before either
    // refreshed) and refresh it when their access tokens expire, a few hundred ms apart.
    server.clock.advance(3_600_000)
    const a = (await (await refresh(client, tokens.refresh_token)).json()) as Tokens
    server.clock.advance(700)
    const b = (await (await refresh(client, tokens.refresh_token)).json()) as Tokens
    expect(b.refresh_token).toBe(a.refresh_token)
    expect([await verify(a.access_token), await verify(b.access_token)]).toEqual([200, 200])

    // An hour later they do it again with what they hold, in the other order.
    server.clock.advance(3_600_000)
    const b2 = (await (await refresh(client, b.refresh_token)).json()) as Tokens
    server.clock.advance(900)
    const a2 = (await (await refresh(client, a.refresh_token)).json()) as Tokens
    expect(a2.refresh_token).toBe(b2.refresh_token)
    expect([await verify(a2.access_token), await verify(b2.access_token)]).toEqual([200, 200])
    expect(await server.store.get(`revoked:family:${family(tokens)}`)).toBeNull()
  })

  it('keeps the successor sealed under the replaced token, never in clear', async () => {
    const { client, tokens } = await signIn()
    const next = (await (await refresh(client, tokens.refresh_token)).json()) as Tokens
    const record = await server.store.get(`refresh-successor:${hashSecret(tokens.refresh_token)}`)
    expect(record).toBeTypeOf('string')
    expect(record).not.toContain(next.refresh_token)
    expect(await server.store.ttl(`refresh-successor:${hashSecret(tokens.refresh_token)}`)).toBe(30)
  })

  it('gives nothing within the grace to another client, nor after the family was revoked', async () => {
    const { client, tokens } = await signIn()
    const other = await registerTestClient(server)
    const next = (await (await refresh(client, tokens.refresh_token)).json()) as Tokens
    expect((await refresh(other, tokens.refresh_token)).status).toBe(400)

    // The replaced token still works within the grace, so revoking it revokes the family.
    const revoked = await clientRequest(server, client, '/revoke', {
      token: tokens.refresh_token,
      token_type_hint: 'refresh_token',
    })
    expect(revoked.status).toBe(200)
    expect(await server.store.get(`revoked:family:${family(tokens)}`)).toBe('1')
    expect((await refresh(client, tokens.refresh_token)).status).toBe(400)
    expect((await refresh(client, next.refresh_token)).status).toBe(400)
  })
})

describe('refresh token reuse without a grace (REFRESH_TOKEN_REUSE_GRACE=0)', () => {
  let server: TestAuthServer
  useFlowServer({ ALLOWED_GITHUB_USERS: 'alice', REFRESH_TOKEN_REUSE_GRACE: '0' }, (fixture) => {
    ;({ server } = fixture)
  })

  it('revokes the family on any second redemption, even a concurrent one', async () => {
    const client = await registerTestClient(server)
    const { code, pkce } = await obtainCode(server, client)
    const tokens = (await (await exchangeCode(server, client, code, pkce)).json()) as Tokens
    const redeem = () =>
      tokenRequest(server, client, {
        grant_type: 'refresh_token',
        refresh_token: tokens.refresh_token,
      })
    const statuses = (await Promise.all([redeem(), redeem()])).map((r) => r.status).sort()
    expect(statuses).toEqual([200, 400])
    const fam = decodeJwt(tokens.access_token).fam as string
    expect(await server.store.get(`revoked:family:${fam}`)).toBe('1')
    expect(await server.store.get(`refresh-successor:${hashSecret(tokens.refresh_token)}`)).toBe(
      null
    )
  })
})
