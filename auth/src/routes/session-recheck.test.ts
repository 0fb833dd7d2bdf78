import { beforeEach, describe, expect, it } from 'vitest'
import type { TestAuthServer } from '../../../tests/support/auth-app.ts'
import type { FakeGitHub } from '../../../tests/support/fake-github.ts'
import type { HeadlessBrowser } from '../../../tests/support/headless-browser.ts'
import {
  approveDevice,
  authorizeAgain,
  browserFor,
  DEVICE_GRANT,
  signInInBrowser,
  startDeviceAuthorization,
  tokenRequest,
  useFlowServer,
} from '../../../tests/support/oauth-flow.ts'

/**
 * A browser session lasts twelve hours; a user who leaves the allowed organisation in the
 * meantime must get nothing more from it: no code from a remembered consent, no device approval.
 */
describe('a remembered browser session is re-checked upstream before it mints anything', () => {
  let github: FakeGitHub
  let server: TestAuthServer
  useFlowServer({ ALLOWED_GITHUB_USERS: 'mallory', ALLOWED_GITHUB_ORGS: 'acme' }, (fixture) => {
    ;({ github, server } = fixture)
  })
  beforeEach(() => {
    github.setOrgMembership('alice', 'acme', 'active')
    github.setRateLimited(false)
  })

  /** Alice approves a client in `browser`: the browser now holds a session and a consent. */
  const signIn = (browser: HeadlessBrowser) => signInInBrowser(server, browser)
  const logged = (event: string, reason: string) =>
    server.logs.some((line) => line.event === event && line.reason === reason)

  it('gives codes from a remembered consent while the user is still allowed', async () => {
    const browser = browserFor(server)
    const { client } = await signIn(browser)
    github.clearRequests()
    const again = new URL((await authorizeAgain(browser, client)).url)
    expect(again.searchParams.get('code')).toBeTruthy()
    // No new GitHub sign-in: the user was read again with the kept grant.
    expect(github.requests.some((request) => request.path.startsWith('/user'))).toBe(true)
  })

  it('cuts off a leaver at refresh and at a new authorization in the same browser', async () => {
    const browser = browserFor(server)
    const { client, tokens } = await signIn(browser)
    github.setOrgMembership('alice', 'acme', null)
    // Refreshes believe a check that let the user in for USER_RECHECK_INTERVAL; past it, GitHub.
    server.clock.advance(server.config.userRecheckInterval * 1000)

    const refresh = await tokenRequest(server, client, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token,
    })
    expect(await refresh.json()).toMatchObject({ error: 'invalid_grant' })
    expect(logged('refresh_denied', 'not_allowed')).toBe(true)

    const refused = new URL((await authorizeAgain(browser, client)).url)
    expect(refused.searchParams.get('error')).toBe('access_denied')
    expect(refused.searchParams.get('state')).toBe('client-state')
    expect(refused.searchParams.get('code')).toBeNull()
    expect(logged('session_denied', 'not_allowed')).toBe(true)

    // The session is over: the next try asks again instead of trusting the browser.
    const next = await authorizeAgain(browser, client)
    expect(next.url).toContain('/authorize')
    expect(next.body).toContain('name="consent_request"')
  })

  it('refuses a device approval from the session of a leaver, and tells the device', async () => {
    const browser = browserFor(server)
    await signIn(browser)
    const { cli, device } = await startDeviceAuthorization(server)
    github.setOrgMembership('alice', 'acme', null)

    const done = await approveDevice(browser, device)
    expect(done.response.status).toBe(400)
    expect(done.body).not.toContain('Device connected')
    expect(
      server.logs.some(
        (line) =>
          line.event === 'session_denied' && line.reason === 'not_allowed' && line.flow === 'device'
      )
    ).toBe(true)
    server.clock.advance(10_001)
    const poll = await tokenRequest(server, cli, {
      grant_type: DEVICE_GRANT,
      device_code: device.device_code,
    })
    expect(await poll.json()).toMatchObject({ error: 'access_denied' })
  })

  it('answers temporarily_unavailable when GitHub cannot be asked, never a code', async () => {
    const browser = browserFor(server)
    const { client } = await signIn(browser)
    github.setRateLimited(true)
    const answer = new URL((await authorizeAgain(browser, client)).url)
    expect(answer.searchParams.get('error')).toBe('temporarily_unavailable')
    expect(answer.searchParams.get('code')).toBeNull()
  })

  it('sends the browser through sign-in again when the app was revoked at GitHub', async () => {
    const browser = browserFor(server)
    const { client } = await signIn(browser)
    github.revokeTokensOf('alice')
    const consent = await authorizeAgain(browser, client)
    expect(consent.body).toContain('name="consent_request"')
    expect(logged('session_denied', 'upstream_grant_revoked')).toBe(true)
    // A fresh sign-in at GitHub re-checks the user and lets her in.
    const landed = new URL(
      (await browser.submitConsent(consent, 'approve', client.redirect_uris[0] ?? '')).url
    )
    expect(landed.searchParams.get('code')).toBeTruthy()
  })
})
