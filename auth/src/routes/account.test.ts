import { beforeEach, describe, expect, it } from 'vitest'
import {
  ECHO_FORWARDED_HEADERS,
  TEST_ISSUER,
  type TestAuthServer,
} from '../../../tests/support/auth-app.ts'
import type { FakeGitHub } from '../../../tests/support/fake-github.ts'
import type { HeadlessBrowser, Page } from '../../../tests/support/headless-browser.ts'
import {
  authorizeUrl,
  browserFor,
  clientRequest,
  exchangeCode,
  newPkce,
  obtainCode,
  registerTestClient,
  tokenRequest,
  useFlowServer,
} from '../../../tests/support/oauth-flow.ts'

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code'
const ACCOUNT = `${TEST_ISSUER}/account`

interface Tokens {
  readonly access_token: string
  readonly refresh_token: string
}

describe('GET /account, POST /account/sign-in, POST /account/revoke', () => {
  let github: FakeGitHub
  let server: TestAuthServer
  useFlowServer({ ALLOWED_GITHUB_USERS: 'mallory', ALLOWED_GITHUB_ORGS: 'acme' }, (fixture) => {
    ;({ github, server } = fixture)
  })
  beforeEach(() => {
    github.setOrgMembership('alice', 'acme', 'active')
  })

  /** Alice connects a client in `browser` (which then holds her session) and gets its tokens. */
  const connect = async (browser: HeadlessBrowser, name: string) => {
    const client = await registerTestClient(server, { client_name: name })
    const { code, pkce } = await obtainCode(server, client, newPkce(), browser)
    const tokens = (await (await exchangeCode(server, client, code, pkce)).json()) as Tokens
    return { client, tokens }
  }
  const verify = (token: string) =>
    server.request('/verify', {
      headers: { ...ECHO_FORWARDED_HEADERS, Authorization: `Bearer ${token}` },
    })
  /** Presses the revoke button of the entry whose hidden `id` is `id`. */
  const revoke = (browser: HeadlessBrowser, page: Page, id: string, origin = TEST_ISSUER) => {
    const form = [
      ...page.body.matchAll(/<form method="post" action="\/account\/revoke">([\s\S]*?)<\/form>/g),
    ]
      .map((match) => match[1] ?? '')
      .find((inner) => inner.includes(`name="id" value="${escapeHtml(id)}"`))
    if (!form) throw new Error(`no revoke button for ${id}: ${page.body.slice(0, 500)}`)
    const fields = new URLSearchParams()
    for (const input of form.matchAll(/name="([^"]*)" value="([^"]*)"/g)) {
      fields.append(input[1] ?? '', unescapeHtml(input[2] ?? ''))
    }
    return browser.open(`${TEST_ISSUER}/account/revoke`, 'about:', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: origin },
      body: fields.toString(),
    })
  }

  it('signs a visitor in through a button (no redirect on GET), then comes back to /account', async () => {
    const browser = browserFor(server)
    github.clearRequests()
    const signIn = await browser.open(ACCOUNT, 'about:')
    expect(signIn.response.status).toBe(200)
    expect(signIn.body).toContain('action="/account/sign-in"')
    expect(signIn.response.headers.get('content-security-policy')).toContain(
      "frame-ancestors 'none'"
    )
    // The button leads to GitHub and on through the callback: no form-action could allow that.
    expect(signIn.response.headers.get('content-security-policy')).not.toContain('form-action')
    expect(signIn.response.headers.get('x-frame-options')).toBe('DENY')
    expect(github.requests).toHaveLength(0)

    const page = await browser.submitForm(signIn, {}, 'about:')
    expect(page.url).toBe(ACCOUNT)
    expect(page.body).toContain('<strong id="signed-in-as">alice</strong>')
    expect(github.requests.some((r) => r.path === '/login/oauth/authorize')).toBe(true)
  })

  it('refuses a sign-in form from another origin, and one without its token', async () => {
    const browser = browserFor(server)
    const signIn = await browser.open(ACCOUNT, 'about:')
    const csrf = /name="csrf_token" value="([^"]+)"/.exec(signIn.body)?.[1] ?? ''
    const post = (origin: string, body: string) =>
      browser.open(`${TEST_ISSUER}/account/sign-in`, 'about:', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: origin },
        body,
      })
    const crossSite = await post('https://evil.example', `csrf_token=${csrf}`)
    expect(crossSite.response.status).toBe(400)
    expect(crossSite.body).toContain('did not come from this gateway')
    const noToken = await post(TEST_ISSUER, '')
    expect(noToken.response.status).toBe(400)
  })

  it('lists the apps and device sessions of the person; revoking one stops only its tokens', async () => {
    const browser = browserFor(server)
    const first = await connect(browser, 'First <b>App</b>')
    const second = await connect(browser, 'Second App')
    const cli = await registerTestClient(server, {
      client_name: 'Device CLI',
      redirect_uris: [],
      grant_types: [DEVICE_GRANT, 'refresh_token'],
      token_endpoint_auth_method: 'none',
    })
    const device = (await (
      await clientRequest(server, cli, '/device_authorization', {})
    ).json()) as {
      device_code: string
      user_code: string
      verification_uri_complete: string
    }
    const codePage = await browser.open(device.verification_uri_complete, 'about:')
    const consent = await browser.submitForm(codePage, { user_code: device.user_code }, 'about:')
    await browser.submitConsent(consent, 'approve', 'about:')
    const deviceTokens = (await (
      await tokenRequest(server, cli, { grant_type: DEVICE_GRANT, device_code: device.device_code })
    ).json()) as Tokens

    const page = await browser.open(ACCOUNT, 'about:')
    expect(page.response.status).toBe(200)
    expect(page.body).toContain('First &lt;b&gt;App&lt;/b&gt;')
    expect(page.body).not.toContain('<b>App</b>')
    expect(page.body).toContain('Second App')
    expect(page.body).toContain('client.example.com')
    expect(page.body).toMatch(/Device CLI <small>\(signed in with a device code\)/)
    // A live client without redirect URIs (a CLI) is not described as a deleted one.
    const deviceEntry = /<section class="entry device">[\s\S]*?<\/section>/.exec(page.body)?.[0]
    expect(deviceEntry).toContain('Device CLI')
    expect(deviceEntry).not.toContain('registration is gone')
    expect(page.body).not.toContain('<a ')
    expect(page.response.headers.get('x-frame-options')).toBe('DENY')
    for (const { tokens } of [first, second])
      expect((await verify(tokens.access_token)).status).toBe(200)
    expect((await verify(deviceTokens.access_token)).status).toBe(200)

    const answer = await revoke(browser, page, first.client.client_id)
    expect(answer.url).toBe(ACCOUNT)
    expect(answer.body).toContain('Access revoked.')
    // Past the verifier's one-second "not revoked" cache.
    server.clock.advance(1_000)
    expect((await verify(first.tokens.access_token)).status).toBe(401)
    const refresh = await tokenRequest(server, first.client, {
      grant_type: 'refresh_token',
      refresh_token: first.tokens.refresh_token,
    })
    expect(await refresh.json()).toMatchObject({ error: 'invalid_grant' })
    expect((await verify(second.tokens.access_token)).status).toBe(200)
    expect((await verify(deviceTokens.access_token)).status).toBe(200)
    expect(server.logs).toContainEqual(
      expect.objectContaining({
        event: 'authorization.consent_revoked',
        by: 'user',
        user_id: '1001',
        client_id: first.client.client_id,
        client_name: 'First <b>App</b>',
        families: 1,
      })
    )
    expect(server.logs).toContainEqual(
      expect.objectContaining({
        event: 'token.revoked',
        by: 'user',
        token_type: 'refresh_token',
        user_id: '1001',
        client_id: first.client.client_id,
      })
    )

    // The notice is shown once, and never because an address asks for it.
    const after = await browser.open(`${ACCOUNT}?notice=revoked`, 'about:')
    expect(after.body).not.toContain('Access revoked.')
    expect(after.body).not.toContain('First &lt;b&gt;App')
    // The consent is gone: authorizing the first client again asks again.
    const again = await browser.open(
      authorizeUrl(first.client, newPkce()),
      'https://client.example.com'
    )
    expect(again.body).toContain('name="consent_request"')

    // That consent page issued a new form token: the account page is opened again.
    const current = await browser.open(ACCOUNT, 'about:')
    const deviceFamily =
      /name="kind" value="device">\s*<input type="hidden" name="id" value="([^"]+)"/.exec(
        current.body
      )?.[1]
    expect(deviceFamily).toBeDefined()
    const ended = await revoke(browser, current, deviceFamily ?? '')
    expect(ended.url).toBe(ACCOUNT)
    expect(ended.body).toContain('Access revoked.')
    expect(ended.body).not.toContain('Device CLI')
    server.clock.advance(1_000)
    expect((await verify(deviceTokens.access_token)).status).toBe(401)
    expect((await verify(second.tokens.access_token)).status).toBe(200)
  })

  it('refuses a cross-origin revoke, a missing token and an added field; revokes nothing', async () => {
    const browser = browserFor(server)
    const { client, tokens } = await connect(browser, 'Kept App')
    const page = await browser.open(ACCOUNT, 'about:')
    const crossSite = await revoke(browser, page, client.client_id, 'https://evil.example')
    expect(crossSite.response.status).toBe(400)

    const fresh = await browser.open(ACCOUNT, 'about:')
    const csrf = /name="csrf_token" value="([^"]+)"/.exec(fresh.body)?.[1] ?? ''
    const post = (body: Record<string, string>) =>
      browser.open(`${TEST_ISSUER}/account/revoke`, 'about:', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: TEST_ISSUER },
        body: new URLSearchParams(body).toString(),
      })
    expect((await post({ kind: 'app', id: client.client_id })).response.status).toBe(400)
    const again = await browser.open(ACCOUNT, 'about:')
    const token = /name="csrf_token" value="([^"]+)"/.exec(again.body)?.[1] ?? ''
    const extra = await post({ csrf_token: token, kind: 'app', id: client.client_id, also: 'x' })
    expect(extra.response.status).toBe(400)
    expect(csrf).not.toBe('')
    server.clock.advance(1_000)
    expect((await verify(tokens.access_token)).status).toBe(200)
  })

  it('revokes nothing of another person, whatever id the form names', async () => {
    const alice = browserFor(server)
    const { client, tokens } = await connect(alice, 'Alice App')
    const mallory = browserFor(server)
    github.setNextLogin('mallory')
    await connect(mallory, 'Mallory App')
    const page = await mallory.open(ACCOUNT, 'about:')
    expect(page.body).toContain('<strong id="signed-in-as">mallory</strong>')
    expect(page.body).toContain('Mallory App')
    expect(page.body).not.toContain('Alice App')
    const csrf = /name="csrf_token" value="([^"]+)"/.exec(page.body)?.[1] ?? ''
    const answer = await mallory.open(`${TEST_ISSUER}/account/revoke`, 'about:', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: TEST_ISSUER },
      body: new URLSearchParams({ csrf_token: csrf, kind: 'app', id: client.client_id }).toString(),
    })
    expect(answer.url).toBe(ACCOUNT)
    expect(answer.body).toContain('nothing left to revoke')
    server.clock.advance(1_000)
    expect((await verify(tokens.access_token)).status).toBe(200)
  })

  it('shows nothing to a remembered session of someone no longer allowed, and ends it', async () => {
    const browser = browserFor(server)
    await connect(browser, 'Leaver App')
    github.setOrgMembership('alice', 'acme', null)
    const refused = await browser.open(ACCOUNT, 'about:')
    expect(refused.response.status).toBe(400)
    expect(refused.body).toContain('alice is no longer allowed')
    expect(refused.body).not.toContain('Leaver App')
    const next = await browser.open(ACCOUNT, 'about:')
    expect(next.body).toContain('action="/account/sign-in"')
  })

  it('signs out with its button: the page asks for a sign-in, a known client asks for consent', async () => {
    const browser = browserFor(server)
    const { client, tokens } = await connect(browser, 'Signed Out App')
    const page = await browser.open(ACCOUNT, 'about:')
    expect(page.body).toMatch(/<form method="post" action="\/account\/sign-out">/)
    const signedOut = await browser.submitForm(page, {}, 'about:')
    expect(signedOut.url).toBe(ACCOUNT)
    expect(signedOut.body).toContain('action="/account/sign-in"')
    const again = await browser.open(authorizeUrl(client, newPkce()), 'https://client.example.com')
    expect(again.body).toContain('name="consent_request"')
    // Signing out ends the browser session only: the application's tokens go on working.
    expect((await verify(tokens.access_token)).status).toBe(200)
    const signedOutLines = () => server.logs.filter((line) => line.event === 'signed_out').length
    expect(signedOutLines()).toBe(1)
    // The same form posted without a session is answered alike, and writes no line.
    const signInPage = await browser.open(ACCOUNT, 'about:')
    const csrf = /name="csrf_token" value="([^"]+)"/.exec(signInPage.body)?.[1] ?? ''
    for (let i = 0; i < 3; i += 1) {
      const answer = await browser.open(`${TEST_ISSUER}/account/sign-out`, 'about:', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: TEST_ISSUER },
        body: new URLSearchParams({ csrf_token: csrf }).toString(),
      })
      expect(answer.url).toBe(ACCOUNT)
    }
    expect(signedOutLines()).toBe(1)
  })

  it('answers a revoke without a session with the error page', async () => {
    const browser = browserFor(server)
    const signIn = await browser.open(ACCOUNT, 'about:')
    const csrf = /name="csrf_token" value="([^"]+)"/.exec(signIn.body)?.[1] ?? ''
    const answer = await browser.open(`${TEST_ISSUER}/account/revoke`, 'about:', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: TEST_ISSUER },
      body: new URLSearchParams({ csrf_token: csrf, kind: 'app', id: 'x' }).toString(),
    })
    expect(answer.response.status).toBe(400)
    expect(answer.response.headers.get('content-type')).toContain('text/html')
  })
})

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;')
}

function unescapeHtml(text: string): string {
  return text
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
}
