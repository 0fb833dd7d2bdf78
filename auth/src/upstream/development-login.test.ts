import { decodeJwt } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createTestAuthServer,
  TEST_ISSUER,
  type TestAuthServer,
} from '../../../tests/support/auth-app.ts'
import {
  authorizeUrl,
  browserFor,
  exchangeCode,
  newPkce,
  registerTestClient,
} from '../../../tests/support/oauth-flow.ts'

describe('development sign-in (no GitHub configured, outside production)', () => {
  let server: TestAuthServer
  beforeAll(async () => {
    server = await createTestAuthServer({ ALLOWED_GITHUB_USERS: 'demo' })
  })
  afterAll(async () => {
    await server.close()
  })

  const signInAs = async (login: string) => {
    const client = await registerTestClient(server)
    const pkce = newPkce()
    const browser = browserFor(server)
    const stop = client.redirect_uris[0] ?? ''
    const consent = await browser.open(authorizeUrl(client, pkce), stop)
    expect(consent.body).toContain('the development sign-in')
    const loginPage = await browser.submitConsent(consent, 'approve', stop)
    expect(loginPage.url).toContain('/dev-login?')
    expect(loginPage.body).toContain('Never use it for real data')
    const landed = await browser.submitForm(loginPage, { login }, stop)
    return { client, pkce, browser, redirect: new URL(landed.url) }
  }

  it('walks the real flow and yields a token for the typed name', async () => {
    const { client, pkce, redirect } = await signInAs('demo')
    const code = redirect.searchParams.get('code') ?? ''
    const tokens = (await (await exchangeCode(server, client, code, pkce)).json()) as Record<
      string,
      string
    >
    expect(decodeJwt(tokens.access_token ?? '')).toMatchObject({ sub: 'dev-demo', login: 'demo' })
  })

  it('re-checks a remembered browser session with the development provider, and lets it in', async () => {
    const { client, browser } = await signInAs('demo')
    const again = await browser.open(authorizeUrl(client, newPkce()), client.redirect_uris[0] ?? '')
    expect(new URL(again.url).searchParams.get('code')).toBeTruthy()
  })

  it('still applies the allow-list', async () => {
    const { redirect } = await signInAs('intruder')
    expect(redirect.searchParams.get('error')).toBe('access_denied')
  })

  it('refuses a malformed name with an error page', async () => {
    const response = await server.request('/dev-login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'login=%3Cscript%3E&state=s&code_challenge=c',
    })
    expect(response.status).toBe(400)
    expect(await response.text()).not.toContain('<script>')
  })

  const post = (body: Record<string, string>, from = '127.0.0.9') =>
    server.app.request(
      `${TEST_ISSUER}/dev-login`,
      {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(body).toString(),
      },
      { incoming: { socket: { remoteAddress: from } } }
    )
  const wellFormed = { login: 'demo', state: 's'.repeat(43), code_challenge: 'c'.repeat(43) }

  it('stores nothing for a state or challenge the gateway did not make (no 60 KB records)', async () => {
    for (const body of [
      { ...wellFormed, code_challenge: 'c'.repeat(60_000) },
      { ...wellFormed, state: 's'.repeat(60_000) },
      { ...wellFormed, state: 'short' },
    ]) {
      const response = await post(body)
      expect(response.status).toBe(400)
      expect(response.headers.get('location')).toBeNull()
    }
  })

  it('limits the codes one caller can make, while another is served', async () => {
    const statuses = []
    for (let i = 0; i < 31; i++) statuses.push((await post(wellFormed, '127.0.0.10')).status)
    expect(statuses.slice(0, 30).every((status) => status === 302)).toBe(true)
    expect(statuses[30]).toBe(429)
    expect((await post(wellFormed, '127.0.0.11')).status).toBe(302)
  })
})
