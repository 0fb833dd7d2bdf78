import { beforeEach, describe, expect, it } from 'vitest'
import { TEST_ISSUER, type TestAuthServer } from '../../../tests/support/auth-app.ts'
import {
  browserFor,
  clientRequest,
  type RegisteredClient,
  registerTestClient,
  tokenRequest,
  useFlowServer,
} from '../../../tests/support/oauth-flow.ts'

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code'

/** The device consent form: its answer is the pressed button, and only that. */
describe('the device decision form', () => {
  let server: TestAuthServer
  useFlowServer({ ALLOWED_GITHUB_USERS: 'alice' }, (fixture) => {
    ;({ server } = fixture)
  })
  let cli: RegisteredClient
  beforeEach(async () => {
    // A fresh minute for the per-caller limit on entered codes.
    server.clock.advance(60_000)
    cli = await registerTestClient(server, {
      client_name: 'gateway CLI',
      redirect_uris: [],
      grant_types: [DEVICE_GRANT, 'refresh_token'],
      token_endpoint_auth_method: 'none',
    })
  })

  /** A device waiting for its user, and that user's browser on the consent page. */
  const consentPage = async () => {
    const device = (await (
      await clientRequest(server, cli, '/device_authorization', {})
    ).json()) as {
      device_code: string
      verification_uri_complete: string
      user_code: string
    }
    const browser = browserFor(server)
    const codePage = await browser.open(device.verification_uri_complete, 'about:')
    const page = await browser.submitForm(codePage, { user_code: device.user_code }, 'about:')
    expect(page.body).toContain('gateway CLI')
    const fields = [
      ...page.body.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g),
    ].map((match): [string, string] => [match[1] ?? '', match[2] ?? ''])
    const post = (added: [string, string][]) =>
      browser.open(`${TEST_ISSUER}/device/decision`, 'about:', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: TEST_ISSUER },
        body: new URLSearchParams([...fields, ...added]).toString(),
      })
    const poll = async () => {
      server.clock.advance(6_000)
      const response = await tokenRequest(server, cli, {
        grant_type: DEVICE_GRANT,
        device_code: device.device_code,
      })
      return ((await response.json()) as { error?: string }).error
    }
    return { post, poll }
  }

  it.each([
    ['a decision that is neither button', [['decision', 'maybe']]],
    [
      'two decisions',
      [
        ['decision', 'approve'],
        ['decision', 'deny'],
      ],
    ],
    [
      'a field the page does not have',
      [
        ['decision', 'deny'],
        ['client_id', 'x'],
      ],
    ],
  ] as [string, [string, string][]][])(
    'refuses %s and leaves the device waiting',
    async (_case, added) => {
      const { post, poll } = await consentPage()
      const result = await post(added)
      expect(result.response.status).toBe(400)
      expect(result.body).toContain('this form was altered')
      expect(await poll()).toBe('authorization_pending')
    }
  )

  it('Deny still denies the device', async () => {
    const { post, poll } = await consentPage()
    const result = await post([['decision', 'deny']])
    expect(result.body).toContain('Device not connected')
    expect(await poll()).toBe('access_denied')
  })
})
