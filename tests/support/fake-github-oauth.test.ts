import * as oauth from 'oauth4webapi'
import { describe, expect, it } from 'vitest'
import type { FakeGitHub } from './fake-github.ts'
import { CALLBACK, useFakeGitHub } from './fake-github-fixture.ts'

let gh: FakeGitHub
let as: oauth.AuthorizationServer
let client: oauth.Client
const { api, authorize, codeFor, pkce, tokenJson } = useFakeGitHub((fixture) => {
  ;({ gh, as, client } = fixture)
})

/** What a gateway's callback does: validate the redirect, then redeem the code. */
function exchange(location: URL, verifier: string, auth: oauth.ClientAuth, fetchImpl = fetch) {
  const params = oauth.validateAuthResponse(as, client, location, 's1')
  return oauth.authorizationCodeGrantRequest(as, client, auth, params, CALLBACK, verifier, {
    [oauth.allowInsecureRequests]: true,
    [oauth.customFetch]: fetchImpl,
  })
}

/** Option (b) of contracts A10: turn GitHub's 200-with-error into a 400 so the library throws it. */
const errorsAs400: typeof fetch = async (input, init) => {
  const response = await fetch(input, init)
  const body: unknown = JSON.parse((await response.clone().text()) || 'null')
  if (!(body && typeof body === 'object' && 'error' in body)) return response
  return new Response(JSON.stringify(body), { status: 400, headers: response.headers })
}

describe('fake GitHub: authorization code flow through oauth4webapi', () => {
  it('exchanges a PKCE code for a gho_ token and serves the user behind it', async () => {
    const { location, verifier } = await codeFor()
    expect(`${location.origin}${location.pathname}`).toBe(CALLBACK)
    const response = await exchange(location, verifier, oauth.ClientSecretPost(gh.clientSecret))
    const tokens = await oauth.processAuthorizationCodeResponse(as, client, response)
    expect(tokens).toEqual({
      access_token: expect.stringMatching(/^gho_[A-Za-z0-9]{36}$/),
      token_type: 'bearer',
      scope: 'read:org,read:user,user:email',
    })
    expect(gh.tokensOf('alice').map((t) => t.token)).toContain(tokens.access_token)

    const sent = gh.requests.find((r) => r.path === '/login/oauth/access_token')
    expect(new URLSearchParams(sent?.body).get('code_verifier')).toBe(verifier)

    const user = await api('/user', tokens.access_token)
    expect(user.status).toBe(200)
    expect(user.headers.get('x-oauth-scopes')).toBe('read:org, read:user, user:email')
    expect(await user.json()).toMatchObject({
      login: 'alice',
      id: 1001,
      node_id: 'MDQ6VXNlcjEwMDE=',
      name: 'Alice',
      email: null,
      avatar_url: expect.stringContaining('1001'),
    })
    const emails = await (await api('/user/emails', tokens.access_token)).json()
    expect(emails).toEqual([
      { email: 'alice@example.com', primary: true, verified: true, visibility: 'private' },
    ])
  })

  it('answers token errors with HTTP 200, which oauth4webapi reports as a bad response', async () => {
    const { location, verifier } = await codeFor()
    const use = async () => {
      const response = await exchange(location, verifier, oauth.ClientSecretBasic(gh.clientSecret))
      expect(response.status).toBe(200)
      return oauth.processAuthorizationCodeResponse(as, client, response)
    }
    await expect(use()).resolves.toMatchObject({ token_type: 'bearer' })
    const reuse = await use().catch((error: unknown) => error)
    expect(reuse).toBeInstanceOf(oauth.OperationProcessingError)
    const failure = reuse as oauth.OperationProcessingError
    expect(failure.code).toBe(oauth.INVALID_RESPONSE)
    expect((failure.cause as { body: Record<string, string> }).body).toEqual({
      error: 'bad_verification_code',
      error_description: 'The code passed is incorrect or expired.',
      error_uri: expect.stringContaining('bad-verification-code'),
    })
  })

  it('lets a customFetch hook turn those errors into ResponseBodyError', async () => {
    const { location, verifier } = await codeFor()
    const auth = oauth.ClientSecretPost('wrong-secret')
    const response = await exchange(location, verifier, auth, errorsAs400)
    const failure = await oauth
      .processAuthorizationCodeResponse(as, client, response)
      .catch((e) => e)
    expect(failure).toBeInstanceOf(oauth.ResponseBodyError)
    expect(failure).toMatchObject({ status: 400, error: 'incorrect_client_credentials' })
  })
})

describe('fake GitHub: authorize redirects', () => {
  it('echoes state, sends denials and plain PKCE back as errors, 404s unknown apps', async () => {
    const ok = await authorize({ redirect_uri: CALLBACK, state: 'xyz' })
    expect([...ok.searchParams.keys()]).toEqual(['code', 'state'])
    expect(ok.searchParams.get('state')).toBe('xyz')
    expect(ok.searchParams.get('code')).toMatch(/^[0-9a-f]{20}$/)

    gh.denyNextAuthorization()
    const denied = await authorize({ redirect_uri: CALLBACK, state: 'xyz' })
    expect(denied.searchParams.get('error')).toBe('access_denied')
    expect(denied.searchParams.get('state')).toBe('xyz')

    const { verifier } = await pkce()
    const plain = { code_challenge: verifier, code_challenge_method: 'plain' }
    const refused = await authorize({ redirect_uri: CALLBACK, ...plain })
    expect(refused.searchParams.get('error')).toBe('invalid_request')

    const query = new URLSearchParams({ client_id: 'unknown', redirect_uri: CALLBACK })
    const unknown = await fetch(`${as.authorization_endpoint}?${query}`, { redirect: 'manual' })
    expect(unknown.status).toBe(404)
  })

  it('lets the signed-in account change and grants previous scopes when none are asked', async () => {
    gh.setNextLogin('bob')
    const bob = await codeFor('user')
    const token = await tokenJson({ code: bob.code, code_verifier: bob.verifier })
    expect(token.scope).toBe('user')
    expect(gh.token(String(token.access_token))?.login).toBe('bob')
    const again = await authorize({ redirect_uri: CALLBACK })
    const reused = await tokenJson({ code: again.searchParams.get('code') ?? '' })
    expect(reused.scope).toBe('user')
  })

  it('applies the redirect_uri rule against the registered callback', async () => {
    const registered = 'https://gateway.example.com:8443/auth/callback'
    gh.setCallbackUrl(registered)
    const target = async (redirectUri: string) => {
      const location = await authorize({ redirect_uri: redirectUri, state: 's' })
      expect(location.searchParams.get('state')).toBe('s')
      return [`${location.origin}${location.pathname}`, location.searchParams.get('error')]
    }
    const good = [
      registered,
      'https://gateway.example.com:8443/auth/callback/sub',
      'https://login.gateway.example.com:8443/auth/callback',
    ]
    for (const uri of good) expect(await target(uri)).toEqual([uri, null])
    const bad = [
      'https://gateway.example.com/auth/callback',
      'https://gateway.example.com:9443/auth/callback',
      'https://gateway.example.com:8443/auth/other',
      'https://gateway.example.com:8443/auth/callbackx',
      'http://gateway.example.com:8443/auth/callback',
      'https://evil.example:8443/auth/callback',
    ]
    for (const uri of bad) expect(await target(uri)).toEqual([registered, 'redirect_uri_mismatch'])
    gh.setCallbackUrl(CALLBACK)
    // A loopback callback allows any port, but the path rule still holds.
    expect((await authorize({ redirect_uri: 'http://127.0.0.1:5999/github/callback' })).port).toBe(
      '5999'
    )
    const loopbackBad = await authorize({ redirect_uri: 'http://127.0.0.1:5999/elsewhere' })
    expect(loopbackBad.searchParams.get('error')).toBe('redirect_uri_mismatch')
  })
})
