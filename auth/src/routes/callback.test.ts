import { describe, expect, it } from 'vitest'
import { TEST_ISSUER, type TestAuthServer } from '../../../tests/support/auth-app.ts'
import type { FakeGitHub } from '../../../tests/support/fake-github.ts'
import {
  authorizeUrl,
  browserFor,
  newPkce,
  registerTestClient,
  useFlowServer,
} from '../../../tests/support/oauth-flow.ts'

describe('GET /callback', () => {
  let github: FakeGitHub
  let server: TestAuthServer
  useFlowServer({ ALLOWED_GITHUB_USERS: 'alice' }, (fixture) => {
    ;({ github, server } = fixture)
  })

  /** Approves a client in a browser and stops where GitHub would ask the user. */
  const atGitHub = async () => {
    const client = await registerTestClient(server)
    const browser = browserFor(server)
    const consent = await browser.open(authorizeUrl(client, newPkce()), github.baseUrl)
    const page = await browser.submitConsent(consent, 'approve', github.baseUrl)
    const state = new URL(page.url).searchParams.get('state') ?? ''
    expect(state).not.toBe('')
    return { browser, state, client }
  }

  it('answers a code GitHub refuses with an error page and a warning, not an outage', async () => {
    const { browser, state, client } = await atGitHub()
    const logged = server.logs.length
    const page = await browser.open(
      `${TEST_ISSUER}/callback?code=not-a-github-code&state=${state}`,
      client.redirect_uris[0] ?? ''
    )
    expect(page.response.status).toBe(400)
    expect(page.response.headers.get('content-type')).toContain('text/html')
    expect(page.body).toContain('wrong, expired or already used')
    expect(page.body).toContain('invalid_request')
    // GitHub was asked, and said the code is bad (its 200-with-error answer).
    expect(
      github.requests.some((r) => r.path === '/login/oauth/access_token' && r.method === 'POST')
    ).toBe(true)
    const lines = server.logs.slice(logged)
    expect(lines.some((line) => line.event === 'upstream_code_rejected' && line.level === 40)).toBe(
      true
    )
    expect(lines.some((line) => (line.level as number) >= 50)).toBe(false)
  })

  it.each([
    ['no code', ''],
    ['an empty code', '&code='],
    ['two codes', '&code=a&code=b'],
  ])('answers a callback with %s the same way, without asking GitHub', async (_, query) => {
    const { browser, state, client } = await atGitHub()
    github.clearRequests()
    const page = await browser.open(
      `${TEST_ISSUER}/callback?state=${state}${query}`,
      client.redirect_uris[0] ?? ''
    )
    expect(page.response.status).toBe(400)
    expect(page.body).toContain('wrong, expired or already used')
    expect(github.requests.some((r) => r.path === '/login/oauth/access_token')).toBe(false)
  })
})
