import { decodeJwt } from 'jose'
import { beforeEach, describe, expect, it } from 'vitest'
import { TEST_ISSUER, type TestAuthServer } from '../../../tests/support/auth-app.ts'
import type { FakeGitHub } from '../../../tests/support/fake-github.ts'
import {
  browserFor,
  clientRequest,
  type RegisteredClient,
  registerTestClient,
  tokenRequest,
  useFlowServer,
} from '../../../tests/support/oauth-flow.ts'

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code'

interface DeviceAuthorizationResponse {
  device_code: string
  user_code: string
  verification_uri: string
  verification_uri_complete: string
  expires_in: number
  interval: number
}

describe('device authorization grant (RFC 8628)', () => {
  let github: FakeGitHub
  let server: TestAuthServer
  useFlowServer({ ALLOWED_GITHUB_USERS: 'alice' }, (fixture) => {
    ;({ github, server } = fixture)
  })
  let cli: RegisteredClient
  beforeEach(async () => {
    cli = await registerTestClient(server, {
      client_name: 'gateway CLI',
      redirect_uris: [],
      grant_types: [DEVICE_GRANT, 'refresh_token'],
      token_endpoint_auth_method: 'none',
    })
  })

  const start = async (client = cli) =>
    (await (
      await clientRequest(server, client, '/device_authorization', {})
    ).json()) as DeviceAuthorizationResponse
  const poll = (deviceCode: string, client = cli) =>
    tokenRequest(server, client, { grant_type: DEVICE_GRANT, device_code: deviceCode })
  const errorOf = async (response: Response) => ((await response.json()) as { error: string }).error
  /** The user's part in a browser: code page → consent → decision (→ GitHub) → done page. */
  const answer = async (device: DeviceAuthorizationResponse, decision: 'approve' | 'deny') => {
    const browser = browserFor(server)
    const codePage = await browser.open(device.verification_uri_complete, 'about:')
    expect(codePage.body).toContain(`value="${device.user_code}"`)
    const consent = await browser.submitForm(codePage, { user_code: device.user_code }, 'about:')
    expect(consent.body).toContain('gateway CLI')
    // A registered name is the registrant's word: the page says so.
    expect(consent.body).toContain('said of itself when it registered')
    expect(consent.body).toContain(device.user_code)
    return browser.submitConsent(consent, decision, 'about:')
  }

  it('answers the device authorization request per §3.2', async () => {
    const device = await start()
    expect(device.user_code).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/)
    expect(device.device_code).toMatch(/^[\w-]{43}$/)
    expect(device).toMatchObject({
      verification_uri: `${TEST_ISSUER}/device`,
      verification_uri_complete: `${TEST_ISSUER}/device?user_code=${device.user_code}`,
      expires_in: 600,
      interval: 5,
    })
    const metadata = (await (
      await server.request('/.well-known/oauth-authorization-server')
    ).json()) as Record<string, unknown>
    expect(metadata.device_authorization_endpoint).toBe(`${TEST_ISSUER}/device_authorization`)
    expect(metadata.grant_types_supported).toContain(DEVICE_GRANT)
  })

  it('keeps the device waiting, slows fast pollers, then hands out tokens once after approval', async () => {
    const device = await start()
    expect(await errorOf(await poll(device.device_code))).toBe('authorization_pending')
    expect(await errorOf(await poll(device.device_code))).toBe('slow_down')
    server.clock.advance(10_001)
    expect(await errorOf(await poll(device.device_code))).toBe('authorization_pending')

    const done = await answer(device, 'approve')
    expect(done.body).toContain('Device connected')

    server.clock.advance(10_001)
    const response = await poll(device.device_code)
    expect(response.status).toBe(200)
    const tokens = (await response.json()) as Record<string, string>
    expect(decodeJwt(tokens.access_token ?? '')).toMatchObject({
      login: 'alice',
      client_id: cli.client_id,
      scope: 'mcp',
    })
    const refreshed = await tokenRequest(server, cli, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token ?? '',
    })
    expect(refreshed.status).toBe(200)

    // Used once: invalid_grant, not expired_token (it has not expired, it was used).
    server.clock.advance(10_001)
    const again = await poll(device.device_code)
    expect(again.status).toBe(400)
    expect(await again.json()).toMatchObject({
      error: 'invalid_grant',
      error_description: 'the device code was already used',
    })
  })

  it('tells the device when the user denies', async () => {
    const device = await start()
    const done = await answer(device, 'deny')
    expect(done.body).toContain('Device not connected')
    server.clock.advance(10_001)
    const response = await poll(device.device_code)
    expect(response.status).toBe(400)
    expect(await errorOf(response)).toBe('access_denied')
  })

  it('tells a person who answers again, or types the code again, that the answer was recorded', async () => {
    const device = await start()
    const browser = browserFor(server)
    const codePage = await browser.open(device.verification_uri_complete, 'about:')
    const consent = await browser.submitForm(codePage, { user_code: device.user_code }, 'about:')
    expect((await browser.submitConsent(consent, 'deny', 'about:')).body).toContain(
      'Device not connected'
    )
    // A reload of the decision (after an outage's 503, say), then the code typed again.
    for (const again of [
      await browser.submitConsent(consent, 'approve', 'about:'),
      await browser.submitForm(codePage, { user_code: device.user_code }, 'about:'),
    ]) {
      expect(again.response.status).toBe(400)
      expect(again.body).toContain('already answered')
      expect(again.body).not.toContain('Start again')
    }
    // Past the code-entry window too, so the next test's entries count afresh.
    server.clock.advance(60_001)
    expect(await errorOf(await poll(device.device_code))).toBe('access_denied')
  })

  it('denies the device of a user outside the allow-list', async () => {
    github.setNextLogin('mallory')
    const device = await start()
    const page = await answer(device, 'approve')
    expect(page.response.status).toBe(400)
    server.clock.advance(10_001)
    expect(await errorOf(await poll(device.device_code))).toBe('access_denied')
  })

  it('refuses unknown codes on the page, and normalises what people type', async () => {
    const device = await start()
    const browser = browserFor(server)
    const codePage = await browser.open(`${TEST_ISSUER}/device`, 'about:')
    const wrong = await browser.submitForm(codePage, { user_code: 'BBBB-BBBB' }, 'about:')
    expect(wrong.response.status).toBe(400)
    expect(wrong.body).toContain('not valid or has expired')
    const typed = device.user_code.toLowerCase().replace('-', ' ')
    const consent = await browser.submitForm(wrong, { user_code: typed }, 'about:')
    expect(consent.body).toContain(device.user_code)
  })

  it('refuses clients not registered for the grant, and codes of other clients', async () => {
    const webClient = await registerTestClient(server)
    const refused = await clientRequest(server, webClient, '/device_authorization', {})
    expect(refused.status).toBe(400)
    expect(await errorOf(refused)).toBe('unauthorized_client')

    const device = await start()
    const other = await registerTestClient(server, {
      redirect_uris: [],
      grant_types: [DEVICE_GRANT],
      token_endpoint_auth_method: 'none',
    })
    expect(await errorOf(await poll(device.device_code, other))).toBe('invalid_grant')
    expect(await errorOf(await poll('not-a-device-code'))).toBe('expired_token')
  })

  it('limits wrong codes per caller', async () => {
    const browser = browserFor(server)
    let page = await browser.open(`${TEST_ISSUER}/device`, 'about:')
    // The code goes to the gateway, which answers with a page: the form can post nowhere else.
    expect(page.response.headers.get('content-security-policy')).toContain(
      `form-action 'self' ${new URL(TEST_ISSUER).origin}`
    )
    const statuses: number[] = []
    for (let attempt = 0; attempt < 12; attempt++) {
      page = await browser.submitForm(page, { user_code: 'BBBB-BBBB' }, 'about:')
      statuses.push(page.response.status)
      if (page.response.status === 429) break
    }
    expect(statuses.at(-1)).toBe(429)
    // A person at a browser is told on the gateway's page, with when to try again, not in JSON.
    expect(page.response.headers.get('content-type')).toContain('text/html')
    expect(page.response.headers.get('content-security-policy')).toContain("frame-ancestors 'none'")
    expect(page.response.headers.get('content-security-policy')).toContain("form-action 'none'")
    expect(Number(page.response.headers.get('retry-after'))).toBeGreaterThan(0)
    expect(page.body).toContain('too many user codes entered')
  })
})
