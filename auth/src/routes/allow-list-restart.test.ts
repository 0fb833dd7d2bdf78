import { decodeJwt } from 'jose'
import { afterEach, describe, expect, it } from 'vitest'
import {
  createTestAuthServer,
  ECHO_FORWARDED_HEADERS,
  type TestAuthServer,
} from '../../../tests/support/auth-app.ts'
import type { FakeGitHub } from '../../../tests/support/fake-github.ts'
import {
  approveDevice,
  authorizeAgain,
  browserFor,
  clientRequest,
  DEVICE_GRANT,
  exchangeCode,
  newPkce,
  obtainCode,
  registerTestClient,
  signInInBrowser,
  tokenRequest,
  useFlowServer,
} from '../../../tests/support/oauth-flow.ts'

type Tokens = { access_token: string; refresh_token?: string }

/**
 * A user taken off the allow-list, and the gateway started again with the new list: nothing
 * issued to them works from that start on. Not their access tokens at `/verify` (whatever client
 * holds them, with or without a refresh token), not introspection, and not a code or an approved
 * device code handed out before the restart and redeemed after it.
 */
describe('a user taken off the allow-list, from the next start', () => {
  let github: FakeGitHub
  let server: TestAuthServer
  useFlowServer({ ALLOWED_GITHUB_USERS: 'alice,bob' }, (fixture) => {
    ;({ github, server } = fixture)
  })
  let restarted: TestAuthServer | undefined
  afterEach(() => {
    // The store is the first server's: it is cleared when that one closes.
    restarted = undefined
  })
  const restart = async (env: Record<string, string>) => {
    restarted = await createTestAuthServer({ ...github.env, ...env }, { restartOf: server })
    return restarted
  }
  const verify = async (gateway: TestAuthServer, accessToken: string) => {
    const answer = await gateway.request('/verify', {
      headers: { ...ECHO_FORWARDED_HEADERS, Authorization: `Bearer ${accessToken}` },
    })
    return { status: answer.status, challenge: answer.headers.get('www-authenticate') }
  }

  it('refuses her tokens at /verify and in introspection, and mints nothing from her grants', async () => {
    const browser = browserFor(server)
    const refreshing = await registerTestClient(server, {
      grant_types: ['authorization_code', 'refresh_token', DEVICE_GRANT],
    })
    const first = await obtainCode(server, refreshing, newPkce(), browser)
    const tokens = (await (
      await exchangeCode(server, refreshing, first.code, first.pkce)
    ).json()) as Tokens
    const codeOnly = await registerTestClient(server, { grant_types: ['authorization_code'] })
    const second = await obtainCode(server, codeOnly, newPkce(), browser)
    const accessOnly = (await (
      await exchangeCode(server, codeOnly, second.code, second.pkce)
    ).json()) as Tokens
    const third = await obtainCode(server, codeOnly, newPkce(), browser)
    const kept = (await (
      await exchangeCode(server, codeOnly, third.code, third.pkce)
    ).json()) as Tokens
    const pending = await obtainCode(server, refreshing, newPkce(), browser)
    const device = (await (
      await clientRequest(server, refreshing, '/device_authorization', {})
    ).json()) as { device_code: string; user_code: string; verification_uri_complete: string }
    await approveDevice(browser, device)
    for (const token of [tokens.access_token, accessOnly.access_token]) {
      expect((await verify(server, token)).status).toBe(200)
    }

    const gateway = await restart({ ALLOWED_GITHUB_USERS: 'bob' })
    for (const token of [tokens.access_token, accessOnly.access_token]) {
      const refused = await verify(gateway, token)
      expect(refused.status).toBe(401)
      expect(refused.challenge).toContain('error="invalid_token"')
    }
    for (const token of [tokens.access_token, tokens.refresh_token ?? '']) {
      const introspected = await clientRequest(gateway, refreshing, '/introspect', { token })
      expect(await introspected.json()).toEqual({ active: false })
    }
    const redeemed = await exchangeCode(gateway, refreshing, pending.code, pending.pkce)
    expect(redeemed.status).toBe(400)
    expect(await redeemed.json()).toEqual({
      error: 'invalid_grant',
      error_description: 'the user may no longer use the gateway',
    })
    gateway.clock.advance(10_001)
    const polled = await tokenRequest(gateway, refreshing, {
      grant_type: DEVICE_GRANT,
      device_code: device.device_code,
    })
    expect(await polled.json()).toMatchObject({ error: 'invalid_grant' })
    const refreshed = await tokenRequest(gateway, refreshing, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token ?? '',
    })
    expect(await refreshed.json()).toMatchObject({ error: 'invalid_grant' })
    expect(gateway.logs.filter((line) => line.event === 'token.issued')).toEqual([])

    // Her token can still be revoked meanwhile, and stays revoked once she is let in again.
    const revoked = await clientRequest(gateway, codeOnly, '/revoke', {
      token: accessOnly.access_token,
    })
    expect(revoked.status).toBe(200)
    const again = await restart({ ALLOWED_GITHUB_USERS: 'alice,bob' })
    expect((await verify(again, accessOnly.access_token)).status).toBe(401)
    expect((await verify(again, kept.access_token)).status).toBe(200)
  })

  it('names the allow-list as the reason her refresh fails after a refused sign-in removed her grant', async () => {
    const { client, tokens } = await signInInBrowser(server, browserFor(server))
    const gateway = await restart({ ALLOWED_GITHUB_USERS: 'bob' })
    // She tries to sign in again: refused, and her kept GitHub grant goes with it.
    const browser = browserFor(gateway)
    const consent = await authorizeAgain(browser, client)
    await browser.submitConsent(consent, 'approve', client.redirect_uris[0] ?? '')
    expect(gateway.logs).toContainEqual(
      expect.objectContaining({ event: 'user.sign_in_refused', reason: 'not_an_allowed_user' })
    )

    const refreshed = await tokenRequest(gateway, client, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token,
    })
    expect(await refreshed.json()).toMatchObject({ error: 'invalid_grant' })
    expect(gateway.logs.filter((line) => line.event === 'token.refresh_refused')).toEqual([
      expect.objectContaining({ login: 'alice', reason: 'not_an_allowed_user' }),
    ])
  })

  it('judges a team member by the teams her token names', async () => {
    github.setTeamMembership('alice', 'acme/core', 'active')
    const gateway = await restart({
      ALLOWED_GITHUB_USERS: 'bob',
      ALLOWED_GITHUB_TEAMS: 'acme/core',
    })
    const { tokens } = await signInInBrowser(gateway, browserFor(gateway))
    const accessToken = (tokens as Tokens).access_token
    expect(decodeJwt(accessToken).teams).toEqual(['acme/core'])
    expect((await verify(gateway, accessToken)).status).toBe(200)
    // Started again without the team: she is refused; with it back, she is served again.
    expect((await verify(await restart({ ALLOWED_GITHUB_USERS: 'bob' }), accessToken)).status).toBe(
      401
    )
    const back = await restart({ ALLOWED_GITHUB_USERS: 'bob', ALLOWED_GITHUB_TEAMS: 'acme/core' })
    expect((await verify(back, accessToken)).status).toBe(200)
  })
})
