import { decodeJwt } from 'jose'
import { describe, expect, it } from 'vitest'
import { TEST_ISSUER, type TestAuthServer } from '../../../tests/support/auth-app.ts'
import type { FakeGitHub } from '../../../tests/support/fake-github.ts'
import {
  ALICE,
  authorizeUrl,
  browserFor,
  exchangeCode,
  newPkce,
  obtainCode,
  passReuseGrace,
  registerTestClient,
  tokenRequest,
  useFlowServer,
} from '../../../tests/support/oauth-flow.ts'
import { hashSecret } from '../oauth/secrets.ts'
import { keys } from '../store/keys.ts'

describe('authorization code flow through GitHub', () => {
  let github: FakeGitHub
  let server: TestAuthServer
  useFlowServer({ ALLOWED_GITHUB_USERS: 'alice' }, (fixture) => {
    ;({ github, server } = fixture)
  })

  it('shows the consent page before any redirect to GitHub', async () => {
    const client = await registerTestClient(server, { client_name: 'Consent check' })
    github.clearRequests()
    const page = await browserFor(server).open(
      authorizeUrl(client, newPkce()),
      client.redirect_uris[0] ?? ''
    )
    expect(page.response.status).toBe(200)
    expect(page.body).toContain('Consent check')
    expect(page.body).toContain('client.example.com')
    expect(page.response.headers.get('content-security-policy')).toContain("frame-ancestors 'none'")
    // Approving ends at GitHub or the client's callback, which may hand over to an app's own
    // scheme: Chromium would check form-action against each redirect, so there is none.
    expect(page.response.headers.get('content-security-policy')).not.toContain('form-action')
    expect(page.response.headers.get('x-frame-options')).toBe('DENY')
    expect(page.response.headers.get('access-control-allow-origin')).toBeNull()
    expect(github.requests).toHaveLength(0)
    expect(await server.store.get('pending-authorization:x')).toBeNull()
  })

  it('issues a code with state and iss, then tokens whose aud is the resource', async () => {
    const client = await registerTestClient(server)
    const { code, redirect, pkce } = await obtainCode(server, client)
    expect(redirect.searchParams.get('state')).toBe('client-state')
    expect(redirect.searchParams.get('iss')).toBe(TEST_ISSUER)

    const response = await exchangeCode(server, client, code, pkce)
    expect(response.status).toBe(200)
    expect(response.headers.get('cache-control')).toBe('no-store')
    const tokens = (await response.json()) as Record<string, unknown>
    expect(tokens).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: 'mcp' })
    const claims = decodeJwt(tokens.access_token as string)
    expect(claims).toMatchObject({
      iss: TEST_ISSUER,
      sub: String(ALICE.id),
      aud: `${TEST_ISSUER}/echo/mcp`,
      client_id: client.client_id,
      login: 'alice',
      email: ALICE.email,
      name: ALICE.name,
      scope: 'mcp',
    })
    expect(tokens.refresh_token).toBeTypeOf('string')
  })

  it('keeps a code no longer than AUTH_CODE_TTL (60 s)', async () => {
    const client = await registerTestClient(server)
    const { code } = await obtainCode(server, client)
    const ttl = await server.store.ttl(keys.authorizationCode(hashSecret(code)))
    expect(ttl).toBeGreaterThan(50)
    expect(ttl).toBeLessThanOrEqual(60)
  })

  it('lets the token request leave out redirect_uri only when the authorization request did', async () => {
    // OAuth 2.1 §4.1.3: required at the token endpoint if it was in the authorization request.
    const client = await registerTestClient(server)
    const redirectUri = client.redirect_uris[0] ?? ''
    const codeWithoutRedirectUri = async () => {
      const pkce = newPkce()
      const url = new URL(authorizeUrl(client, pkce))
      url.searchParams.delete('redirect_uri')
      const browser = browserFor(server)
      const consent = await browser.open(url.href, redirectUri)
      const page = await browser.submitConsent(consent, 'approve', redirectUri)
      const code = new URL(page.url).searchParams.get('code') ?? ''
      return {
        code,
        form: { grant_type: 'authorization_code', code, code_verifier: pkce.verifier },
      }
    }
    const omitted = await codeWithoutRedirectUri()
    const exchanged = await tokenRequest(server, client, omitted.form)
    expect(exchanged.status, await exchanged.clone().text()).toBe(200)

    const another = await codeWithoutRedirectUri()
    const wrong = await tokenRequest(server, client, {
      ...another.form,
      redirect_uri: `${redirectUri}/elsewhere`,
    })
    expect(wrong.status).toBe(400)
    expect(await wrong.json()).toMatchObject({ error: 'invalid_grant' })

    const named = await obtainCode(server, client)
    const missing = await tokenRequest(server, client, {
      grant_type: 'authorization_code',
      code: named.code,
      code_verifier: named.pkce.verifier,
    })
    expect(missing.status).toBe(400)
    expect(await missing.json()).toEqual({
      error: 'invalid_grant',
      error_description: 'redirect_uri is required: the authorization request included one',
    })
  })

  it('rotates the refresh token on every use, and a reused one revokes the family', async () => {
    const client = await registerTestClient(server)
    const { code, pkce } = await obtainCode(server, client)
    const first = (await (await exchangeCode(server, client, code, pkce)).json()) as Record<
      string,
      string
    >
    const refreshed = await tokenRequest(server, client, {
      grant_type: 'refresh_token',
      refresh_token: first.refresh_token ?? '',
    })
    expect(refreshed.status).toBe(200)
    const second = (await refreshed.json()) as Record<string, string>
    expect(second.refresh_token).not.toBe(first.refresh_token)
    expect(decodeJwt(second.access_token ?? '').fam).toBe(decodeJwt(first.access_token ?? '').fam)

    // After the reuse grace (REFRESH_TOKEN_REUSE_GRACE, refresh-reuse-grace.test.ts).
    await passReuseGrace(server, first.refresh_token ?? '')
    const reuse = await tokenRequest(server, client, {
      grant_type: 'refresh_token',
      refresh_token: first.refresh_token ?? '',
    })
    expect(reuse.status).toBe(400)
    expect(await reuse.json()).toMatchObject({ error: 'invalid_grant' })
    const family = decodeJwt(second.access_token ?? '').fam as string
    expect(await server.store.get(`revoked:family:${family}`)).toBe('1')
    const afterRevocation = await tokenRequest(server, client, {
      grant_type: 'refresh_token',
      refresh_token: second.refresh_token ?? '',
    })
    expect(afterRevocation.status).toBe(400)
    expect(server.logs.some((line) => line.event === 'refresh_token.reuse_detected')).toBe(true)
  })

  it('down-scopes on refresh but never widens', async () => {
    const client = await registerTestClient(server)
    const { code, pkce } = await obtainCode(server, client)
    const tokens = (await (await exchangeCode(server, client, code, pkce)).json()) as Record<
      string,
      string
    >
    const wider = await tokenRequest(server, client, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token ?? '',
      scope: 'mcp admin',
    })
    expect(await wider.json()).toMatchObject({ error: 'invalid_scope' })
    const same = await tokenRequest(server, client, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token ?? '',
      scope: 'mcp',
    })
    expect(same.status).toBe(200)
  })

  it('remembers consent per user and client, skipping the page and the GitHub sign-in next time', async () => {
    const client = await registerTestClient(server)
    const browser = browserFor(server)
    await obtainCode(server, client, newPkce(), browser)
    github.clearRequests()
    const again = await browser.open(authorizeUrl(client, newPkce()), client.redirect_uris[0] ?? '')
    expect(new URL(again.url).searchParams.get('code')).toBeTruthy()
    // No sign-in page at GitHub; only the API read that re-checks the user with the kept grant.
    expect(github.requests.filter((request) => request.server === 'web')).toHaveLength(0)
    expect(github.requests.every((request) => request.path.includes('/user'))).toBe(true)
  })

  it('sends access_denied with state and iss when the user denies', async () => {
    const client = await registerTestClient(server)
    const browser = browserFor(server)
    const consent = await browser.open(
      authorizeUrl(client, newPkce()),
      client.redirect_uris[0] ?? ''
    )
    const denied = await browser.submitConsent(consent, 'deny', client.redirect_uris[0] ?? '')
    const redirect = new URL(denied.url)
    expect(redirect.searchParams.get('error')).toBe('access_denied')
    expect(redirect.searchParams.get('state')).toBe('client-state')
    expect(redirect.searchParams.get('iss')).toBe(TEST_ISSUER)
    expect(redirect.searchParams.get('code')).toBeNull()
  })

  it('writes audit events and never a token or secret', async () => {
    const client = await registerTestClient(server)
    const { code, pkce } = await obtainCode(server, client)
    const tokens = (await (await exchangeCode(server, client, code, pkce)).json()) as Record<
      string,
      string
    >
    const events = new Set(server.logs.map((line) => line.event))
    for (const event of [
      'user.signed_in',
      'authorization.consent_given',
      'authorization_code_issued',
      'token.issued',
    ])
      expect(events).toContain(event)
    const logged = JSON.stringify(server.logs)
    for (const secret of [code, tokens.access_token, tokens.refresh_token, client.client_secret]) {
      expect(logged).not.toContain(secret)
    }
    for (const token of github.issuedTokens) expect(logged).not.toContain(token.token)
  })

  it('keeps one encrypted GitHub token per user', async () => {
    const stored = (await server.store.get(`upstream-grant:${ALICE.id}`)) ?? ''
    expect(stored).not.toBe('')
    for (const token of github.issuedTokens) expect(stored).not.toContain(token.token)
  })
})
