import * as oauth from 'oauth4webapi'
import { describe, expect, it } from 'vitest'
import { type FakeGitHub, TOKENS_PER_SCOPE_SET } from './fake-github.ts'
import { CALLBACK, SCOPES, useFakeGitHub } from './fake-github-fixture.ts'

let gh: FakeGitHub
let as: oauth.AuthorizationServer
const { advanceClock, api, basic, codeFor, credentials, postToken, tokenError, tokenJson } =
  useFakeGitHub((fixture) => {
    ;({ gh, as } = fixture)
  })

describe('fake GitHub: token endpoint', () => {
  it('answers form-encoded by default and accepts HTTP Basic client auth', async () => {
    const { code, verifier } = await codeFor()
    const fields = { code, code_verifier: verifier, redirect_uri: CALLBACK }
    const answer = await postToken(fields, { authorization: basic() })
    expect(answer.type).toBe('application/x-www-form-urlencoded; charset=utf-8')
    expect(answer.text).toMatch(
      /^access_token=gho_\w{36}&scope=read%3Aorg%2Cread%3Auser%2Cuser%3Aemail&token_type=bearer$/
    )
  })

  it('reports each GitHub error code with status 200', async () => {
    const { code, verifier } = await codeFor()
    const wrongSecret = await postToken(
      { client_id: gh.clientId, client_secret: 'nope', code, code_verifier: verifier },
      { accept: 'application/json' }
    )
    expect(wrongSecret.status).toBe(200)
    expect(JSON.parse(wrongSecret.text).error).toBe('incorrect_client_credentials')
    expect(await tokenError({ grant_type: 'password', code })).toBe('unsupported_grant_type')
    expect(await tokenError({ code, redirect_uri: 'http://evil.example/github/callback' })).toBe(
      'redirect_uri_mismatch'
    )
    expect(await tokenError({ code: 'not-a-code', code_verifier: verifier })).toBe(
      'bad_verification_code'
    )
    // The credentials failure above did not use the code up; a correct exchange does, once.
    expect(await tokenError({ code, code_verifier: verifier })).toBeUndefined()
    expect(await tokenError({ code, code_verifier: verifier })).toBe('bad_verification_code')
  })

  it('rejects a missing or wrong PKCE verifier and codes older than ten minutes', async () => {
    expect(await tokenError({ code: (await codeFor()).code })).toBe('bad_verification_code')
    const other = oauth.generateRandomCodeVerifier()
    const wrong = { code: (await codeFor()).code, code_verifier: other }
    expect(await tokenError(wrong)).toBe('bad_verification_code')
    const [early, late] = [await codeFor(), await codeFor()]
    advanceClock(9 * 60_000)
    expect(await tokenError({ code: early.code, code_verifier: early.verifier })).toBeUndefined()
    advanceClock(60_000 + 1000)
    expect(await tokenError({ code: late.code, code_verifier: late.verifier })).toBe(
      'bad_verification_code'
    )
  })

  it('accepts a JSON body and a redirect_uri-less exchange', async () => {
    const { code, verifier } = await codeFor()
    const response = await fetch(as.token_endpoint ?? '', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ ...credentials(), code, code_verifier: verifier }),
    })
    expect(await response.json()).toMatchObject({ access_token: expect.stringMatching(/^gho_/) })
  })
})

describe('fake GitHub: token lifecycle', () => {
  const appCall = (what: string, token = '', secret = gh.clientSecret, method = 'DELETE') =>
    fetch(`${gh.apiUrl}/applications/${gh.clientId}/${what}`, {
      method,
      headers: { 'user-agent': 'gateway-test', authorization: basic(secret) },
      body: JSON.stringify({ access_token: token }),
    })

  it('revokes one token or the whole grant for the app', async () => {
    const [one, two, three] = [1, 2, 3].map(() => gh.issueToken('bob').token)
    expect((await appCall('token', one, 'wrong')).status).toBe(401)
    const check = await appCall('token', one, gh.clientSecret, 'POST')
    expect(await check.json()).toMatchObject({ token: one, user: { login: 'bob' } })
    expect((await appCall('token', one)).status).toBe(204)
    expect((await api('/user', one ?? null)).status).toBe(401)
    expect((await api('/user', two ?? null)).status).toBe(200)
    expect((await appCall('grant', two)).status).toBe(204)
    expect((await api('/user', three ?? null)).status).toBe(401)
    expect((await appCall('token', three)).status).toBe(404)
    const later = gh.issueToken('bob').token
    expect(gh.revokeTokensOf('bob')).toBe(1)
    expect(gh.token(later)?.revoked).toBe('user')
  })

  it('revokes the oldest token beyond ten per user, app and scope set', async () => {
    gh.revokeTokensOf('alice')
    const issued = Array.from({ length: TOKENS_PER_SCOPE_SET + 1 }, () => gh.issueToken('alice'))
    expect(gh.tokensOf('alice')).toHaveLength(TOKENS_PER_SCOPE_SET)
    expect(issued[0]?.revoked).toBe('token-limit')
    gh.issueToken('alice', ['read:user'])
    expect(gh.tokensOf('alice')).toHaveLength(TOKENS_PER_SCOPE_SET + 1)
  })

  it('in expiring mode issues 8-hour tokens and rotates refresh tokens', async () => {
    const { code, verifier } = await codeFor(`${SCOPES} offline_access`)
    const first = await tokenJson({ code, code_verifier: verifier })
    expect(first).toMatchObject({
      expires_in: 28_800,
      refresh_token: expect.stringMatching(/^ghr_/),
      refresh_token_expires_in: 15_897_600,
      scope: 'read:org,read:user,user:email',
    })
    const refresh = { grant_type: 'refresh_token', refresh_token: String(first.refresh_token) }
    const second = await tokenJson(refresh)
    expect(second.access_token).not.toBe(first.access_token)
    expect((await tokenJson(refresh)).error).toBe('bad_refresh_token')
    advanceClock(28_800_000)
    expect((await api('/user', String(second.access_token))).status).toBe(401)
    const third = await tokenJson({ ...refresh, refresh_token: String(second.refresh_token) })
    expect((await api('/user', String(third.access_token))).status).toBe(200)
  })
})
