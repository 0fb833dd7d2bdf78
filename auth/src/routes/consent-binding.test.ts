import { beforeEach, describe, expect, it } from 'vitest'
import { TEST_ISSUER, type TestAuthServer } from '../../../tests/support/auth-app.ts'
import type { FakeGitHub } from '../../../tests/support/fake-github.ts'
import {
  ALICE,
  authorizeUrl,
  browserFor,
  newPkce,
  obtainCode,
  registerTestClient,
  useFlowServer,
} from '../../../tests/support/oauth-flow.ts'
import { runCommand } from '../cli/run-command.ts'
import { keys } from '../store/keys.ts'

/** Findings of the security review, kept as tests. */
describe('remembered consent and what a sign-in leaves behind', () => {
  let github: FakeGitHub
  let server: TestAuthServer
  useFlowServer({ ALLOWED_GITHUB_USERS: 'alice' }, (fixture) => {
    ;({ github, server } = fixture)
  })
  beforeEach(() => {
    github.setNextLogin('alice')
  })

  it('binds a remembered consent to the redirect URI the user approved', async () => {
    const client = (await (
      await server.request('/register', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({
          client_name: 'Mover',
          redirect_uris: ['http://127.0.0.1/callback'],
          token_endpoint_auth_method: 'none',
        }),
      })
    ).json()) as { client_id: string; registration_access_token: string; redirect_uris: string[] }
    const browser = browserFor(server)
    await obtainCode(server, client, newPkce(), browser)

    // The client moves its redirect URI elsewhere with RFC 7592 and sends the user back.
    const moved = await server.request(`/register/${client.client_id}`, {
      method: 'PUT',
      headers: {
        Authorization: `Bearer ${client.registration_access_token}`,
        'Content-Type': 'application/json',
      },
      body: JSON.stringify({
        client_id: client.client_id,
        redirect_uris: ['https://evil.example/steal'],
        token_endpoint_auth_method: 'none',
      }),
    })
    expect(moved.status).toBe(200)
    const attempt = await browser.open(
      authorizeUrl({ ...client, redirect_uris: ['https://evil.example/steal'] }, newPkce()),
      'https://evil.example'
    )
    expect(attempt.url.startsWith(TEST_ISSUER)).toBe(true)
    expect(attempt.body).toContain('Approve')
    expect(attempt.body).toContain('evil.example')
  })

  // RFC 8252 §8.6: a public client's id is no secret, and any program on the user's computer can
  // claim a loopback port or an app scheme; a remembered approval must not hand it a code.
  it.each<readonly [string, string, string]>([
    [
      'a loopback redirect on another port',
      'http://127.0.0.1/callback',
      'http://127.0.0.1:6666/callback',
    ],
    ['an app-scheme redirect', 'com.example.app:/callback', 'com.example.app:/callback'],
    // The page passes the code on to whatever local port or app the request's state names.
    [
      'an https page relaying to this computer',
      'https://vscode.dev/redirect',
      'https://vscode.dev/redirect',
    ],
    // Registered as written, matched exactly: each spelling of the same page is that page.
    ...[
      'https://VSCODE.dev/redirect',
      'https://vscode.dev:443/redirect',
      'https://Insiders.VSCode.dev/redirect?x=1',
      'https://vscode.dev/redirect/',
    ].map((spelling) => [`the relaying page spelt ${spelling}`, spelling, spelling] as const),
  ])(
    'asks a public client with %s every time, approved before or not',
    async (_, registered, sent) => {
      const client = await registerTestClient(server, {
        redirect_uris: [registered],
        token_endpoint_auth_method: 'none',
      })
      const browser = browserFor(server)
      await obtainCode(server, client, newPkce(), browser, {
        redirect_uri: sent.replace('6666', '5555'),
      })
      const again = await browser.open(
        authorizeUrl(client, newPkce(), { redirect_uri: sent }),
        sent
      )
      expect(again.url.startsWith(TEST_ISSUER)).toBe(true)
      expect(again.body).toContain('Approve')
      expect(
        await server.store.get(keys.consent(String(ALICE.id), client.client_id))
      ).not.toBeNull()
    }
  )

  it('remembers consent for a public client returning to its https site, and a confidential one', async () => {
    for (const metadata of [
      { token_endpoint_auth_method: 'none' },
      { token_endpoint_auth_method: 'client_secret_post' },
      { token_endpoint_auth_method: 'client_secret_post', redirect_uris: ['http://127.0.0.1/cb'] },
    ]) {
      const client = await registerTestClient(server, metadata)
      const browser = browserFor(server)
      await obtainCode(server, client, newPkce(), browser)
      const again = new URL(
        (await browser.open(authorizeUrl(client, newPkce()), client.redirect_uris[0] ?? '')).url
      )
      expect(again.searchParams.get('code'), JSON.stringify(metadata)).not.toBeNull()
    }
  })

  it('keeps neither a GitHub token nor a session for a user the allow-list refuses', async () => {
    github.setNextLogin('mallory')
    const client = await registerTestClient(server)
    const browser = browserFor(server)
    const consent = await browser.open(
      authorizeUrl(client, newPkce()),
      client.redirect_uris[0] ?? ''
    )
    const result = await browser.submitConsent(consent, 'approve', client.redirect_uris[0] ?? '')
    expect(new URL(result.url).searchParams.get('error')).toBe('access_denied')
    expect(await server.store.get('upstream-grant:6666')).toBeNull()
    expect(
      [...browser.cookiesOf(TEST_ISSUER).keys()].some((name) => name.endsWith('session'))
    ).toBe(false)
  })

  it('does not echo a state that fails validation', async () => {
    const client = await registerTestClient(server)
    // Approved first: errors go back only to a client the user has approved.
    const browser = browserFor(server)
    await obtainCode(server, client, newPkce(), browser)
    const page = await browser.open(
      authorizeUrl(client, newPkce(), { state: 'x'.repeat(3000) }),
      client.redirect_uris[0] ?? ''
    )
    const redirect = new URL(page.url)
    expect(redirect.searchParams.get('error')).toBe('invalid_request')
    expect(redirect.searchParams.get('state')).toBeNull()
  })

  it('refuses a consent form posted with Origin: null', async () => {
    const client = await registerTestClient(server)
    const browser = browserFor(server)
    const consent = await browser.open(
      authorizeUrl(client, newPkce()),
      client.redirect_uris[0] ?? ''
    )
    const form = new URLSearchParams()
    for (const match of consent.body.matchAll(
      /<input type="hidden" name="([^"]*)" value="([^"]*)">/g
    )) {
      form.append(match[1] ?? '', (match[2] ?? '').replace(/&amp;/g, '&'))
    }
    form.set('decision', 'approve')
    const cookie = [...browser.cookiesOf(TEST_ISSUER)]
      .map(([name, value]) => `${name}=${value}`)
      .join('; ')
    const response = await server.request('/authorize', {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        Origin: 'null',
        Cookie: cookie,
      },
      body: form.toString(),
    })
    expect(response.status).toBe(400)
  })

  // Withdrawn while an authorization on it re-checks the user at GitHub, it must not come back
  // with a code.
  it('withdrawn while an authorization on it is in flight: no code, and it stays withdrawn', async () => {
    const client = await registerTestClient(server)
    const redirectUri = client.redirect_uris[0] ?? ''
    const browser = browserFor(server)
    await obtainCode(server, client, newPkce(), browser)
    github.clearRequests()
    github.setLatency(600)
    try {
      const authorizing = browser.open(authorizeUrl(client, newPkce()), redirectUri)
      // The request has read the consent and waits on GitHub's answer about the user.
      await expect
        .poll(() => github.requests.filter((r) => r.path === '/user').length, { interval: 10 })
        .toBeGreaterThan(0)
      const withdrawn = await runCommand(
        {
          config: server.config,
          store: server.store,
          clock: server.clock,
          audit: server.audit,
        },
        ['consents', 'revoke', String(ALICE.id), client.client_id]
      )
      expect(withdrawn.exitCode).toBeUndefined()
      const answer = new URL((await authorizing).url)
      expect(answer.origin + answer.pathname).toBe(redirectUri)
      expect(answer.searchParams.get('error')).toBe('access_denied')
      expect(answer.searchParams.get('code')).toBeNull()
      expect(await server.store.get(keys.consent(String(ALICE.id), client.client_id))).toBeNull()
    } finally {
      github.setLatency(0)
    }
  })

  it('used again, a remembered consent is renewed as approved: not narrowed, not re-dated', async () => {
    const client = await registerTestClient(server)
    const redirectUri = client.redirect_uris[0] ?? ''
    const browser = browserFor(server)
    await obtainCode(server, client, newPkce(), browser, { scope: 'mcp offline_access' })
    const key = keys.consent(String(ALICE.id), client.client_id)
    const approved = await server.store.get(key)
    await server.store.expire(key, 100)
    server.clock.advance(60_000)

    const again = new URL(
      (await browser.open(authorizeUrl(client, newPkce(), { scope: 'mcp' }), redirectUri)).url
    )
    expect(again.searchParams.get('code')).not.toBeNull()
    expect(await server.store.get(key)).toBe(approved)
    expect(await server.store.ttl(key)).toBeGreaterThan(100)
  })
})
