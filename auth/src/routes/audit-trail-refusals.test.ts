import { describe, expect, it } from 'vitest'
import { auditLines, type TestAuthServer } from '../../../tests/support/auth-app.ts'
import type { FakeGitHub } from '../../../tests/support/fake-github.ts'
import {
  ALICE_AUDITED,
  authorizeUrl,
  browserFor,
  exchangeCode,
  newPkce,
  obtainCode,
  registerTestClient,
  tokenRequest,
  useFlowServer,
} from '../../../tests/support/oauth-flow.ts'

describe('the audit trail of a user who is no longer allowed', () => {
  let github: FakeGitHub
  let server: TestAuthServer
  useFlowServer({ ALLOWED_GITHUB_ORGS: 'acme' }, (fixture) => {
    ;({ github, server } = fixture)
    github.setOrgMembership('alice', 'acme', 'active')
  })

  it('says why the next refresh was refused', async () => {
    const client = await registerTestClient(server, { client_name: 'Audited client' })
    const { code, pkce } = await obtainCode(server, client)
    const tokens = (await (await exchangeCode(server, client, code, pkce)).json()) as Record<
      string,
      string
    >
    github.setOrgMembership('alice', 'acme', null)
    const refresh = await tokenRequest(server, client, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token ?? '',
    })
    expect(await refresh.json()).toMatchObject({ error: 'invalid_grant' })
    expect(auditLines(server).at(-1)).toMatchObject({
      event: 'token.refresh_refused',
      ...ALICE_AUDITED,
      client_id: client.client_id,
      client_name: 'Audited client',
      // The allow-list's reason (`not_allowed`, or a finer one naming the policy that refused).
      reason: expect.stringMatching(/^not_/),
      family_id: expect.any(String),
    })

    // A new authorization is refused too, and the trail says why.
    const browser = browserFor(server)
    const redirectUri = client.redirect_uris[0] ?? ''
    const consent = await browser.open(authorizeUrl(client, newPkce()), redirectUri)
    const refused = new URL((await browser.submitConsent(consent, 'approve', redirectUri)).url)
    expect(refused.searchParams.get('error')).toBe('access_denied')
    expect(auditLines(server).at(-1)).toMatchObject({
      event: 'user.sign_in_refused',
      ...ALICE_AUDITED,
      client_id: client.client_id,
      flow: 'authorization_code',
      reason: expect.stringMatching(/^not_/),
    })
    expect(auditLines(server).some((line) => line.event === 'user.signed_in')).toBe(true)
  })
})
