import { beforeEach, describe, expect, it } from 'vitest'
import type { TestAuthServer } from '../../../tests/support/auth-app.ts'
import type { FakeGitHub } from '../../../tests/support/fake-github.ts'
import type { HeadlessBrowser } from '../../../tests/support/headless-browser.ts'
import {
  approveDevice,
  authorizeAgain,
  authorizeUrl,
  browserFor,
  DEVICE_GRANT,
  newPkce,
  registerTestClient,
  signInInBrowser,
  startDeviceAuthorization,
  tokenRequest,
  useFlowServer,
} from '../../../tests/support/oauth-flow.ts'

/**
 * `ALLOWED_GITHUB_TEAMS`: team members get in, and membership stays true: someone removed from the
 * team is cut off at the next refresh, a remembered browser session of theirs mints nothing more,
 * a new sign-in at GitHub is refused, and both the log and the audit trail say why.
 */
describe('team membership (ALLOWED_GITHUB_TEAMS) against the fake GitHub', () => {
  let github: FakeGitHub
  let server: TestAuthServer
  useFlowServer({ ALLOWED_GITHUB_TEAMS: 'Acme/core' }, (fixture) => {
    ;({ github, server } = fixture)
  })
  beforeEach(() => {
    github.setTeamMembership('alice', 'acme/core', 'active')
    github.setTeamMembership('alice', 'acme/platform', null)
  })

  const signIn = (browser: HeadlessBrowser) => signInInBrowser(server, browser)
  const audited = (event: string, fields: Record<string, unknown>) =>
    server.logs.some(
      (line) =>
        line.audit === true &&
        line.event === event &&
        Object.entries(fields).every(([key, value]) => line[key] === value)
    )
  const logged = (fields: Record<string, unknown>) =>
    server.logs.some((line) => Object.entries(fields).every(([key, value]) => line[key] === value))

  it('lets a team member in, asking GitHub for read:org', async () => {
    github.clearRequests()
    const { client } = await signIn(browserFor(server))
    expect(client.client_id).toBeTruthy()
    const authorize = github.requests.find((r) => r.path === '/login/oauth/authorize')
    expect(authorize?.query.get('scope')?.split(' ')).toContain('read:org')
    expect(github.requests.some((r) => r.path === '/user/teams')).toBe(true)
  })

  it('refuses someone in another team only, or whose membership is pending, and says why', async () => {
    github.setTeamMembership('alice', 'acme/core', null)
    github.setTeamMembership('alice', 'acme/platform', 'active')
    const client = await registerTestClient(server)
    const browser = browserFor(server)
    const redirect = client.redirect_uris[0] ?? ''
    const consent = await browser.open(authorizeUrl(client, newPkce()), redirect)
    const landed = new URL((await browser.submitConsent(consent, 'approve', redirect)).url)
    expect(landed.searchParams.get('error')).toBe('access_denied')
    expect(logged({ event: 'login_denied', reason: 'not_in_allowed_team', login: 'alice' })).toBe(
      true
    )
    expect(
      audited('user.sign_in_refused', { flow: 'authorization_code', reason: 'not_in_allowed_team' })
    ).toBe(true)

    github.setTeamMembership('alice', 'acme/core', 'pending')
    const pending = browserFor(server)
    const again = await pending.open(authorizeUrl(client, newPkce()), redirect)
    const refused = await pending.submitConsent(again, 'approve', redirect)
    expect(new URL(refused.url).searchParams.get('error')).toBe('access_denied')
  })

  it('removed from the team: refresh fails, the same browser is refused, signing in again is refused', async () => {
    const browser = browserFor(server)
    const { client, tokens } = await signIn(browser)
    server.logs.length = 0
    github.setTeamMembership('alice', 'acme/core', null)

    const refresh = await tokenRequest(server, client, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token,
    })
    expect(refresh.status).toBe(400)
    expect(await refresh.json()).toMatchObject({ error: 'invalid_grant' })
    expect(
      logged({
        event: 'refresh_denied',
        reason: 'not_allowed',
        policy_reason: 'not_in_allowed_team',
      })
    ).toBe(true)
    expect(audited('token.refresh_refused', { reason: 'not_in_allowed_team' })).toBe(true)

    const refused = new URL((await authorizeAgain(browser, client)).url)
    expect(refused.searchParams.get('error')).toBe('access_denied')
    expect(refused.searchParams.get('code')).toBeNull()
    expect(
      audited('user.sign_in_refused', {
        flow: 'session',
        reason: 'not_in_allowed_team',
        user_id: '1001',
        client_id: client.client_id,
      })
    ).toBe(true)

    // The session is over: the next try signs in at GitHub, which now says no team.
    const consent = await authorizeAgain(browser, client)
    expect(consent.body).toContain('name="consent_request"')
    const landed = new URL(
      (await browser.submitConsent(consent, 'approve', client.redirect_uris[0] ?? '')).url
    )
    expect(landed.searchParams.get('error')).toBe('access_denied')
    expect(
      audited('user.sign_in_refused', { flow: 'authorization_code', reason: 'not_in_allowed_team' })
    ).toBe(true)

    // Back in the team, the user signs in again.
    github.setTeamMembership('alice', 'acme/core', 'active')
    expect((await signIn(browser)).tokens.refresh_token).toBeTruthy()
  })

  it('forgets what an earlier sign-in kept when a new one is refused (the internal API too)', async () => {
    await signIn(browserFor(server))
    expect(await server.users.user('1001')).toMatchObject({ login: 'alice' })
    github.setTeamMembership('alice', 'acme/core', null)
    const client = await registerTestClient(server)
    const browser = browserFor(server)
    const redirect = client.redirect_uris[0] ?? ''
    const consent = await browser.open(authorizeUrl(client, newPkce()), redirect)
    const landed = new URL((await browser.submitConsent(consent, 'approve', redirect)).url)
    expect(landed.searchParams.get('error')).toBe('access_denied')
    expect(await server.users.user('1001')).toBeUndefined()
  })

  it('refuses a device approval from the remembered session of someone removed from the team', async () => {
    const browser = browserFor(server)
    await signIn(browser)
    const { cli, device } = await startDeviceAuthorization(server)
    github.setTeamMembership('alice', 'acme/core', null)

    const done = await approveDevice(browser, device)
    expect(done.response.status).toBe(400)
    expect(done.body).not.toContain('Device connected')
    expect(
      logged({
        event: 'session_denied',
        flow: 'device',
        reason: 'not_allowed',
        policy_reason: 'not_in_allowed_team',
      })
    ).toBe(true)
    expect(
      audited('user.sign_in_refused', {
        flow: 'session',
        reason: 'not_in_allowed_team',
        client_id: cli.client_id,
      })
    ).toBe(true)
    server.clock.advance(10_001)
    const poll = await tokenRequest(server, cli, {
      grant_type: DEVICE_GRANT,
      device_code: device.device_code,
    })
    expect(await poll.json()).toMatchObject({ error: 'access_denied' })
  })

  it('refuses a device approved with a fresh GitHub sign-in by someone in no allowed team', async () => {
    github.setTeamMembership('alice', 'acme/core', null)
    const { device } = await startDeviceAuthorization(server)
    const browser = browserFor(server)
    const done = await approveDevice(browser, device)
    expect(done.body).not.toContain('Device connected')
    expect(logged({ event: 'login_denied', flow: 'device', reason: 'not_in_allowed_team' })).toBe(
      true
    )
    expect(audited('user.sign_in_refused', { flow: 'device', reason: 'not_in_allowed_team' })).toBe(
      true
    )
  })
  it('lets a team member sign in on the connected-apps page, and refuses one in no allowed team', async () => {
    const account = `${server.config.issuer}/account`
    const member = browserFor(server)
    const signedIn = await member.submitForm(await member.open(account, 'about:'), {}, 'about:')
    expect(signedIn.url).toBe(account)
    expect(signedIn.body).toContain('<strong id="signed-in-as">alice</strong>')

    github.setTeamMembership('alice', 'acme/core', null)
    const outsider = browserFor(server)
    const refused = await outsider.submitForm(await outsider.open(account, 'about:'), {}, 'about:')
    expect(refused.body).toContain('alice is not allowed to use this gateway')
    expect(
      audited('user.sign_in_refused', { flow: 'account', reason: 'not_in_allowed_team' })
    ).toBe(true)
  })
})
