import { describe, expect, it } from 'vitest'
import { TEST_ISSUER, type TestAuthServer } from '../../../tests/support/auth-app.ts'
import type { FakeGitHub } from '../../../tests/support/fake-github.ts'
import type { HeadlessBrowser, Page } from '../../../tests/support/headless-browser.ts'
import {
  ALICE,
  authorizeUrl,
  browserFor,
  newPkce,
  obtainCode,
  type RegisteredClient,
  registerTestClient,
  useFlowServer,
} from '../../../tests/support/oauth-flow.ts'

/**
 * The consent form carries a reference to the request kept on the server, the CSRF token and the
 * pressed button, nothing else; a form that says anything more, or says it twice, is refused.
 */
describe('the consent form', () => {
  let github: FakeGitHub
  let server: TestAuthServer
  useFlowServer({ ALLOWED_GITHUB_USERS: 'alice' }, (fixture) => {
    ;({ github, server } = fixture)
  })

  const consentPage = async (
    browser: HeadlessBrowser,
    client: RegisteredClient,
    extra: Record<string, string> = {}
  ) => {
    const page = await browser.open(
      authorizeUrl(client, newPkce(), extra),
      client.redirect_uris[0] ?? ''
    )
    expect(page.response.status, page.body.slice(0, 300)).toBe(200)
    expect(page.body).toContain('Approve')
    return page
  }

  /** The form's fields as the page gives them. */
  const fieldsOf = (page: Page): [string, string][] =>
    [...page.body.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)].map(
      (match) => [match[1] ?? '', match[2] ?? '']
    )

  /** POSTs `fields` to /authorize as `browser` would (its cookies, our Origin). */
  const post = (browser: HeadlessBrowser, fields: [string, string][], path = '/authorize') =>
    browser.open(`${TEST_ISSUER}${path}`, 'https://client.example.com/callback', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: TEST_ISSUER },
      body: new URLSearchParams(fields).toString(),
    })

  const expectRefusedOnPage = (result: Page) => {
    expect(result.url.startsWith(`${TEST_ISSUER}/authorize`)).toBe(true)
    expect(result.response.status).toBe(400)
    expect(result.response.headers.get('content-type')).toContain('text/html')
  }

  const consentsOf = async (userId: number) => {
    const found: string[] = []
    for await (const key of server.store.scan(`consent:${userId}:`)) found.push(key)
    return found
  }

  it('carries only the reference to the request, the CSRF token and the two buttons', async () => {
    const client = await registerTestClient(server)
    const page = await consentPage(browserFor(server), client, { decision: 'approve' })
    expect(fieldsOf(page).map(([name]) => name)).toEqual(['consent_request', 'csrf_token'])
    expect(page.body).not.toContain(client.client_id)
    expect(page.body).not.toContain('client-state')
    expect([...page.body.matchAll(/name="decision"/g)]).toHaveLength(2)
  })

  it('a link carrying decision=approve: Deny denies, no code, nothing remembered', async () => {
    // Signed in and approved before (another client), so an approval would finish at once.
    const browser = browserFor(server)
    await obtainCode(server, await registerTestClient(server), newPkce(), browser)
    const before = await consentsOf(ALICE.id)
    const client = await registerTestClient(server)
    const page = await consentPage(browser, client, { decision: 'approve' })
    // As a browser submits it: the form's fields in order, then the pressed button.
    const denied = await post(browser, [...fieldsOf(page), ['decision', 'deny']])
    const redirect = new URL(denied.url)
    expect(redirect.searchParams.get('error')).toBe('access_denied')
    expect(redirect.searchParams.get('code')).toBeNull()
    expect(await consentsOf(ALICE.id)).toEqual(before)
    expect(await server.store.get(`consent:${ALICE.id}:${client.client_id}`)).toBeNull()
  })

  it('an approval still goes through GitHub and back with a code', async () => {
    const client = await registerTestClient(server)
    github.clearRequests()
    const { redirect } = await obtainCode(server, client)
    expect(redirect.searchParams.get('state')).toBe('client-state')
    expect(github.requests.some((r) => r.path === '/login/oauth/authorize')).toBe(true)
  })

  it.each([
    ['a copy of a request parameter', [['client_id', 'x']]],
    ['a second decision', [['decision', 'deny']]],
    ['a second reference', [['consent_request', 'x'.repeat(43)]]],
    ['an unknown field', [['remember', 'yes']]],
  ] as [string, [string, string][]][])('refuses a form with %s', async (_case, added) => {
    const client = await registerTestClient(server)
    const browser = browserFor(server)
    const page = await consentPage(browser, client)
    github.clearRequests()
    const result = await post(browser, [...fieldsOf(page), ['decision', 'approve'], ...added])
    expectRefusedOnPage(result)
    expect(result.body).toContain('this form was altered')
    expect(github.requests.filter((r) => r.path === '/login/oauth/authorize')).toHaveLength(0)
  })

  it('does not show the name of a field it did not put there, which the sender chose', async () => {
    const client = await registerTestClient(server)
    const browser = browserFor(server)
    const page = await consentPage(browser, client)
    const added: [string, string] = ['Security alert: call 0800 555 0100 now', 'x']
    const result = await post(browser, [...fieldsOf(page), ['decision', 'approve'], added])
    expectRefusedOnPage(result)
    expect(result.body).toContain('this form was altered (an unexpected field)')
    expect(result.body).not.toContain('Security alert')
  })

  it('refuses a form without a decision, or with one that is neither button', async () => {
    const client = await registerTestClient(server)
    for (const decision of [[], [['decision', 'yes']]] as [string, string][][]) {
      const browser = browserFor(server)
      const page = await consentPage(browser, client)
      expectRefusedOnPage(await post(browser, [...fieldsOf(page), ...decision]))
    }
  })

  it('refuses request parameters in the address of the POST', async () => {
    const client = await registerTestClient(server)
    const browser = browserFor(server)
    const page = await consentPage(browser, client)
    const result = await post(
      browser,
      [...fieldsOf(page), ['decision', 'deny']],
      `/authorize?redirect_uri=${encodeURIComponent('https://evil.example/')}`
    )
    expectRefusedOnPage(result)
  })

  it('answers a consent request once: the same form posted again is refused', async () => {
    const client = await registerTestClient(server)
    const browser = browserFor(server)
    const page = await consentPage(browser, client)
    const fields = fieldsOf(page)
    const cookies = new Map(browser.cookiesOf(TEST_ISSUER))
    const first = await post(browser, [...fields, ['decision', 'deny']])
    expect(new URL(first.url).searchParams.get('error')).toBe('access_denied')

    // Replayed with the very same cookies and token (a script, not a browser, keeps them).
    const replay = await server.request('/authorize', {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        Origin: TEST_ISSUER,
        Cookie: [...cookies].map(([name, value]) => `${name}=${value}`).join('; '),
      },
      body: new URLSearchParams([...fields, ['decision', 'approve']]).toString(),
    })
    expect(replay.status).toBe(400)
    expect(replay.headers.get('location')).toBeNull()
    expect(await replay.text()).toContain('already answered')
  })

  it('two consent pages open in one browser, and another gateway page opened between: each answers', async () => {
    const browser = browserFor(server)
    const first = await consentPage(browser, await registerTestClient(server))
    const second = await consentPage(browser, await registerTestClient(server))
    // Another site may open a gateway page in a new tab: it must not void the open forms.
    await browser.open(`${TEST_ISSUER}/account`, TEST_ISSUER)
    for (const page of [first, second]) {
      const denied = await post(browser, [...fieldsOf(page), ['decision', 'deny']])
      expect(new URL(denied.url).searchParams.get('error')).toBe('access_denied')
    }
  })

  it('refuses a token another browser was given, or one made up', async () => {
    const client = await registerTestClient(server)
    const browser = browserFor(server)
    const page = await consentPage(browser, client)
    const other = await consentPage(browserFor(server), client)
    const tokenOf = (p: Page) => fieldsOf(p).find(([name]) => name === 'csrf_token')?.[1] ?? ''
    const nonce = tokenOf(page).split('.')[0] ?? ''
    for (const token of [tokenOf(other), `${nonce}.${'A'.repeat(43)}`, nonce, '']) {
      const forged = fieldsOf(page).map(([name, value]): [string, string] =>
        name === 'csrf_token' ? [name, token] : [name, value]
      )
      const result = await post(browser, [...forged, ['decision', 'approve']])
      expectRefusedOnPage(result)
      expect(result.body).toContain('this form has expired or did not come from this gateway')
    }
  })

  it('refuses a reference shown to another browser, even with that browser’s own valid token', async () => {
    const client = await registerTestClient(server)
    const victim = browserFor(server)
    const victimPage = await consentPage(victim, client)
    const attacker = browserFor(server)
    const attackerPage = await consentPage(attacker, client)
    const reference = fieldsOf(victimPage).find(([name]) => name === 'consent_request')?.[1] ?? ''
    const forged = fieldsOf(attackerPage).map(([name, value]): [string, string] =>
      name === 'consent_request' ? [name, reference] : [name, value]
    )
    const result = await post(attacker, [...forged, ['decision', 'approve']])
    expectRefusedOnPage(result)
    expect(result.body).toContain('another browser')
  })

  it('shows the error page, not a redirect, for a request with a repeated parameter', async () => {
    const client = await registerTestClient(server)
    // A parameter /authorize does not read is not named: its name is the sender's text.
    for (const [repeated, described] of [
      ['scope', 'the scope parameter is repeated'],
      ['state', 'the state parameter is repeated'],
      ['code_challenge', 'the code_challenge parameter is repeated'],
      ['decision', 'a parameter is repeated'],
    ] as const) {
      const url = new URL(authorizeUrl(client, newPkce()))
      url.searchParams.append(repeated, 'again')
      url.searchParams.append(repeated, 'twice')
      const page = await browserFor(server).open(url.href, client.redirect_uris[0] ?? '')
      expect(page.url).toBe(url.href)
      expect(page.response.status).toBe(400)
      expect(page.body).toContain(described)
    }
    // `resource` may be repeated (RFC 8707).
    const twoResources = new URL(authorizeUrl(client, newPkce()))
    twoResources.searchParams.append('resource', `${TEST_ISSUER}/echo/mcp`)
    const page = await browserFor(server).open(twoResources.href, client.redirect_uris[0] ?? '')
    expect(page.response.status).toBe(200)
    expect(page.body).toContain('Approve')
  })
})
