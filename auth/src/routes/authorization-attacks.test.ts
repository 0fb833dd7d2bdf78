import { decodeJwt } from 'jose'
import { describe, expect, it } from 'vitest'
import { TEST_ISSUER, type TestAuthServer } from '../../../tests/support/auth-app.ts'
import type { FakeGitHub } from '../../../tests/support/fake-github.ts'
import {
  authorizeUrl,
  browserFor,
  exchangeCode,
  newPkce,
  obtainCode,
  registerTestClient,
  tokenRequest,
  useFlowServer,
} from '../../../tests/support/oauth-flow.ts'

describe('attacks on the authorization code flow are refused', () => {
  let github: FakeGitHub
  let server: TestAuthServer
  useFlowServer({ ALLOWED_GITHUB_USERS: 'alice' }, (fixture) => {
    ;({ github, server } = fixture)
  })

  /**
   * The error a client gets back for a bad request. Errors are redirected only to a client the user
   * has approved (RFC 9700 §4.11.2, see open-redirect.test.ts), so the browser approves it first.
   */
  const redirectError = async (url: string, stopAt: string) => {
    const client = new URL(url).searchParams.get('client_id') ?? ''
    const browser = browserFor(server)
    await obtainCode(server, { client_id: client, redirect_uris: [stopAt] }, newPkce(), browser)
    const page = await browser.open(url, stopAt)
    const redirect = new URL(page.url)
    expect(redirect.href.startsWith(stopAt), page.body.slice(0, 200)).toBe(true)
    expect(redirect.searchParams.get('iss')).toBe(TEST_ISSUER)
    expect(redirect.searchParams.get('code')).toBeNull()
    return redirect.searchParams.get('error')
  }

  it.each([
    ['missing PKCE', { code_challenge: '', code_challenge_method: '' }],
    ['plain PKCE', { code_challenge_method: 'plain' }],
    ['a malformed challenge', { code_challenge: 'short' }],
  ])('%s', async (_case, params) => {
    const client = await registerTestClient(server)
    const url = new URL(authorizeUrl(client, newPkce()))
    for (const [name, value] of Object.entries(params)) {
      if (value) url.searchParams.set(name, value)
      else url.searchParams.delete(name)
    }
    expect(await redirectError(url.href, client.redirect_uris[0] ?? '')).toBe('invalid_request')
  })

  it('refuses response types other than code, and unknown resources', async () => {
    const client = await registerTestClient(server)
    const stop = client.redirect_uris[0] ?? ''
    expect(
      await redirectError(authorizeUrl(client, newPkce(), { response_type: 'token' }), stop)
    ).toBe('unsupported_response_type')
    expect(
      await redirectError(
        authorizeUrl(client, newPkce(), { resource: 'https://evil.example/mcp' }),
        stop
      )
    ).toBe('invalid_target')
  })

  it('a wrong PKCE verifier', async () => {
    const client = await registerTestClient(server)
    const { code } = await obtainCode(server, client)
    const response = await exchangeCode(server, client, code, newPkce())
    expect(await response.json()).toMatchObject({ error: 'invalid_grant' })
  })

  it.each([
    ['http://localhost:3000/cb', 'http://localhost.evil.com/cb'],
    ['https://claude.ai/api/mcp/auth_callback', 'https://claude.ai.evil.com/api/mcp/auth_callback'],
    [
      'https://claude.ai/api/mcp/auth_callback',
      'https://claude.ai/api/mcp/auth_callback/../../evil',
    ],
    ['https://claude.ai/api/mcp/auth_callback', 'https://claude.ai/api/mcp/auth_callback?x=1'],
    ['http://127.0.0.1:33418/', 'http://127.0.0.1:33418.evil.com/'],
  ])(
    'a redirect URI that only resembles %s: an error page, no redirect',
    async (registered, attempted) => {
      const client = await registerTestClient(server, { redirect_uris: [registered] })
      const url = authorizeUrl(client, newPkce(), { redirect_uri: attempted })
      const page = await browserFor(server).open(url, attempted)
      expect(page.response.status).toBe(400)
      expect(page.url.startsWith(TEST_ISSUER)).toBe(true)
      expect(page.body).toContain('redirect_uri does not match')
    }
  )

  it('accepts any port on a registered loopback redirect', async () => {
    const client = await registerTestClient(server, {
      redirect_uris: ['http://127.0.0.1/callback'],
    })
    const { code, pkce } = await obtainCode(server, client, newPkce(), browserFor(server), {
      redirect_uri: 'http://127.0.0.1:49152/callback',
    })
    const response = await exchangeCode(server, client, code, pkce, {
      redirect_uri: 'http://127.0.0.1:49152/callback',
    })
    expect(response.status).toBe(200)
  })

  it('an unknown client at /authorize: an error page', async () => {
    const page = await browserFor(server).open(
      `${TEST_ISSUER}/authorize?response_type=code&client_id=nobody&redirect_uri=https://evil.example/cb`,
      'https://evil.example'
    )
    expect(page.response.status).toBe(400)
    expect(page.url.startsWith(TEST_ISSUER)).toBe(true)
  })

  it('a client not registered for the authorization code grant: unauthorized_client, no code', async () => {
    const deviceOnly = await registerTestClient(server, {
      grant_types: ['urn:ietf:params:oauth:grant-type:device_code'],
      token_endpoint_auth_method: 'none',
    })
    const page = await browserFor(server).open(
      authorizeUrl(
        { ...deviceOnly, redirect_uris: ['https://client.example.com/callback'] },
        newPkce()
      ),
      'https://client.example.com'
    )
    expect(page.url.startsWith(TEST_ISSUER)).toBe(true)
    expect(page.response.status).toBe(400)
    expect(page.body).toContain('not registered for the authorization code grant')
  })

  it('a state that is not UTF-8 once decoded: an error page, never a changed state sent back', async () => {
    // RFC 6749 §4.1.2: the client gets its state exactly; %ff%fe would come back as U+FFFD twice.
    const client = await registerTestClient(server)
    const redirectUri = client.redirect_uris[0] ?? ''
    const browser = browserFor(server)
    await obtainCode(server, client, newPkce(), browser)
    const page = await browser.open(
      `${authorizeUrl(client, newPkce(), { state: '' })}&state=%ff%fe`.replace('&state=&', '&'),
      redirectUri
    )
    expect(page.response.status).toBe(400)
    expect(page.url.startsWith(TEST_ISSUER)).toBe(true)
    expect(page.body).toContain('a parameter is not valid UTF-8 once percent-decoded')
    // A lone % is literal, and other characters come back as they were sent.
    const { redirect } = await obtainCode(server, client, newPkce(), browser, { state: '50% ☃' })
    expect(redirect.searchParams.get('state')).toBe('50% ☃')
  })

  it('code replay: refused, and what the code issued is revoked', async () => {
    const client = await registerTestClient(server)
    const { code, pkce } = await obtainCode(server, client)
    const first = (await (await exchangeCode(server, client, code, pkce)).json()) as Record<
      string,
      string
    >
    const replay = await exchangeCode(server, client, code, pkce)
    expect(await replay.json()).toMatchObject({ error: 'invalid_grant' })
    const family = decodeJwt(first.access_token ?? '').fam as string
    expect(await server.store.get(`revoked:family:${family}`)).toBe('1')
    const refresh = await tokenRequest(server, client, {
      grant_type: 'refresh_token',
      refresh_token: first.refresh_token ?? '',
    })
    expect(refresh.status).toBe(400)
  })

  it('concurrent redemptions of one code: at most one gets tokens, the others are replays', async () => {
    const client = await registerTestClient(server)
    const { code, pkce } = await obtainCode(server, client)
    const responses = await Promise.all(
      Array.from({ length: 8 }, () => exchangeCode(server, client, code, pkce))
    )
    // A replay revokes what the code issued; a winner still writing its tokens then gets none
    // (code-replay-race.test.ts checks that whatever it did get stays revoked).
    expect(responses.filter((r) => r.status === 200).length).toBeLessThanOrEqual(1)
    expect(responses.filter((r) => r.status === 400)).toHaveLength(
      responses.filter((r) => r.status !== 200).length
    )
  })

  it('a code redeemed by another client', async () => {
    const victim = await registerTestClient(server)
    const attacker = await registerTestClient(server)
    const { code, pkce } = await obtainCode(server, victim)
    const response = await exchangeCode(server, attacker, code, pkce, {
      redirect_uri: victim.redirect_uris[0] ?? '',
    })
    expect(await response.json()).toMatchObject({ error: 'invalid_grant' })
  })

  it('a refresh token presented by another client, which leaves it to its own', async () => {
    const victim = await registerTestClient(server)
    const attacker = await registerTestClient(server)
    const { code, pkce } = await obtainCode(server, victim)
    const tokens = (await (await exchangeCode(server, victim, code, pkce)).json()) as {
      refresh_token: string
    }
    const stolen = await tokenRequest(server, attacker, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token,
    })
    expect(stolen.status).toBe(400)
    expect(await stolen.json()).toMatchObject({ error: 'invalid_grant' })
    expect(server.logs.at(-1)).toMatchObject({ reason: 'refresh_token_of_another_client' })
    const own = await tokenRequest(server, victim, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token,
    })
    expect(own.status).toBe(200)
  })

  it('a code with a different redirect_uri at the token endpoint', async () => {
    const client = await registerTestClient(server, {
      redirect_uris: ['https://client.example.com/callback', 'https://client.example.com/other'],
    })
    const { code, pkce } = await obtainCode(server, client)
    const response = await exchangeCode(server, client, code, pkce, {
      redirect_uri: 'https://client.example.com/other',
    })
    expect(await response.json()).toMatchObject({ error: 'invalid_grant' })
  })

  it('a user outside the allow-list gets access_denied and no code', async () => {
    github.setNextLogin('mallory')
    const client = await registerTestClient(server)
    const browser = browserFor(server)
    const consent = await browser.open(
      authorizeUrl(client, newPkce()),
      client.redirect_uris[0] ?? ''
    )
    const result = await browser.submitConsent(consent, 'approve', client.redirect_uris[0] ?? '')
    const redirect = new URL(result.url)
    expect(redirect.searchParams.get('error')).toBe('access_denied')
    expect(redirect.searchParams.get('code')).toBeNull()
    expect(
      server.logs.some((line) => line.event === 'login_denied' && line.login === 'mallory')
    ).toBe(true)
  })

  it('a user who cancels at GitHub gets access_denied', async () => {
    github.denyNextAuthorization()
    const client = await registerTestClient(server)
    const browser = browserFor(server)
    const consent = await browser.open(
      authorizeUrl(client, newPkce()),
      client.redirect_uris[0] ?? ''
    )
    const result = await browser.submitConsent(consent, 'approve', client.redirect_uris[0] ?? '')
    expect(new URL(result.url).searchParams.get('error')).toBe('access_denied')
  })

  it('an unknown client, or a wrong secret, at /token: 401 invalid_client', async () => {
    const client = await registerTestClient(server)
    for (const who of [
      { ...client, client_id: 'unknown-client' },
      { ...client, client_secret: 'wrong' },
      { client_id: client.client_id, redirect_uris: client.redirect_uris },
    ]) {
      const response = await tokenRequest(server, who, {
        grant_type: 'authorization_code',
        code: 'x',
        code_verifier: 'y',
      })
      expect(response.status).toBe(401)
      expect(await response.json()).toMatchObject({ error: 'invalid_client' })
      // RFC 9110 §15.5.2: every 401 carries a challenge.
      expect(response.headers.get('www-authenticate')).toBe('Basic realm="oauth", charset="UTF-8"')
    }
    // RFC 6749 §5.2: whoever tried the Authorization header gets a challenge, whatever it held.
    for (const authorization of [
      `Basic ${Buffer.from(`${client.client_id}:nope`).toString('base64')}`,
      'Basic ',
      'Bearer abc',
    ]) {
      const tried = await server.request('/token', {
        method: 'POST',
        headers: {
          'Content-Type': 'application/x-www-form-urlencoded',
          Authorization: authorization,
        },
        body: 'grant_type=refresh_token&refresh_token=x',
      })
      expect(tried.status, authorization).toBe(401)
      expect(tried.headers.get('www-authenticate'), authorization).toBe(
        'Basic realm="oauth", charset="UTF-8"'
      )
    }
  })

  it('a consent form posted without the browser’s CSRF cookie', async () => {
    const client = await registerTestClient(server)
    const consent = await browserFor(server).open(
      authorizeUrl(client, newPkce()),
      client.redirect_uris[0] ?? ''
    )
    const otherBrowser = browserFor(server)
    const result = await otherBrowser.submitConsent(
      consent,
      'approve',
      client.redirect_uris[0] ?? ''
    )
    expect(result.response.status).toBe(400)
    expect(result.url).toBe(`${TEST_ISSUER}/authorize`)
  })

  it('a callback this browser did not start (login CSRF)', async () => {
    const page = await browserFor(server).open(
      `${TEST_ISSUER}/callback?code=stolen&state=someone-elses-state`,
      'https://x'
    )
    expect(page.response.status).toBe(400)
    expect(page.body).toContain('not started in this browser')
  })

  it('malformed token requests get OAuth errors, never 500', async () => {
    const client = await registerTestClient(server)
    const post = (body: string, type = 'application/x-www-form-urlencoded') =>
      server.request('/token', { method: 'POST', headers: { 'Content-Type': type }, body })
    const id = `client_id=${client.client_id}&client_secret=${client.client_secret}`
    const cases: [Response, number, string][] = [
      [await post('{"grant_type":"x"}', 'application/json'), 400, 'invalid_request'],
      [await post(`${id}`), 400, 'invalid_request'],
      [await post(`${id}&grant_type=password`), 400, 'unsupported_grant_type'],
      [
        await post(`${id}&grant_type=authorization_code&grant_type=refresh_token`),
        400,
        'invalid_request',
      ],
      [await post(`${id}&grant_type=authorization_code`), 400, 'invalid_request'],
      [
        await post(`${id}&grant_type=urn:ietf:params:oauth:grant-type:device_code&device_code=x`),
        400,
        'unauthorized_client',
      ],
      [await post(`${id}&grant_type=client_credentials`), 400, 'unsupported_grant_type'],
      [
        await post(
          `${id}&grant_type=authorization_code&code=${'x'.repeat(300)}&code_verifier=v&redirect_uri=r`
        ),
        400,
        'invalid_request',
      ],
    ]
    for (const [response, status, error] of cases) {
      expect(response.status).toBe(status)
      expect(await response.json()).toMatchObject({ error })
    }
  })
})
