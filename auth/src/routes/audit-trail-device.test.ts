import { describe, expect, it } from 'vitest'
import { auditLines, type TestAuthServer } from '../../../tests/support/auth-app.ts'
import type { FakeGitHub } from '../../../tests/support/fake-github.ts'
import {
  ALICE_AUDITED,
  browserFor,
  clientRequest,
  MALLORY,
  registerTestClient,
  tokenRequest,
  useFlowServer,
} from '../../../tests/support/oauth-flow.ts'

describe('the audit trail of the device flow', () => {
  let github: FakeGitHub
  let server: TestAuthServer
  useFlowServer({ ALLOWED_GITHUB_USERS: 'alice' }, (fixture) => {
    ;({ github, server } = fixture)
  })
  const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code'

  it('records the sign-in, the consent given or denied, and the tokens', async () => {
    const cli = await registerTestClient(server, {
      client_name: 'Audited CLI',
      redirect_uris: [],
      grant_types: [DEVICE_GRANT, 'refresh_token'],
      token_endpoint_auth_method: 'none',
    })
    const answer = async (decision: 'approve' | 'deny') => {
      const device = (await (
        await clientRequest(server, cli, '/device_authorization', {})
      ).json()) as { device_code: string; user_code: string; verification_uri_complete: string }
      const browser = browserFor(server)
      const codePage = await browser.open(device.verification_uri_complete, 'about:')
      const consent = await browser.submitForm(codePage, { user_code: device.user_code }, 'about:')
      await browser.submitConsent(consent, decision, 'about:')
      return device
    }
    const approved = await answer('approve')
    server.clock.advance(10_000)
    const polled = await tokenRequest(server, cli, {
      grant_type: DEVICE_GRANT,
      device_code: approved.device_code,
    })
    expect(polled.status).toBe(200)
    await answer('deny')

    const cliClient = { client_id: cli.client_id, client_name: 'Audited CLI' }
    expect(auditLines(server).filter((line) => line.event !== 'client.registered')).toEqual([
      expect.objectContaining({
        event: 'user.signed_in',
        ...ALICE_AUDITED,
        ...cliClient,
        flow: 'device',
      }),
      expect.objectContaining({
        event: 'authorization.consent_given',
        ...ALICE_AUDITED,
        ...cliClient,
        flow: 'device',
        scope: expect.any(String),
        resource: [expect.any(String)],
        remembered: false,
      }),
      expect.objectContaining({
        event: 'token.issued',
        ...ALICE_AUDITED,
        ...cliClient,
        grant_type: 'device_code',
      }),
      expect.objectContaining({
        event: 'authorization.consent_denied',
        ...cliClient,
        flow: 'device',
      }),
    ])
    const written = JSON.stringify(server.logs)
    expect(written).not.toContain(approved.device_code)

    // Someone the allow-list refuses approves a device: the refusal names the client too.
    github.setNextLogin('mallory')
    await answer('approve')
    expect(auditLines(server).at(-1)).toMatchObject({
      event: 'user.sign_in_refused',
      user_id: String(MALLORY.id),
      ...cliClient,
      flow: 'device',
    })
  })
})
