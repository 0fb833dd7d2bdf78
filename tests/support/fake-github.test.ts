import * as oauth from 'oauth4webapi'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type FakeGitHub, startFakeGitHub, TOKENS_PER_SCOPE_SET } from './fake-github.ts'

const CALLBACK = 'http://127.0.0.1:4000/github/callback'
const SCOPES = 'read:user user:email read:org'

let clock = Date.UTC(2026, 10, 1)
let gh: FakeGitHub
let as: oauth.AuthorizationServer
let client: oauth.Client

beforeAll(async () => {
  gh = await startFakeGitHub({ callbackUrl: CALLBACK, now: () => clock })
  gh.addUser({ id: 1001, login: 'alice', name: 'Alice', orgs: { acme: 'active', beta: 'pending' } })
  gh.addUser({ id: 1002, login: 'bob', email: 'bob@example.org' })
  // GitHub has no discovery document: the gateway builds this object by hand.
  as = {
    issuer: gh.baseUrl,
    authorization_endpoint: `${gh.baseUrl}/login/oauth/authorize`,
    token_endpoint: `${gh.baseUrl}/login/oauth/access_token`,
  }
  client = { client_id: gh.clientId }
})
afterAll(() => gh.close())
beforeEach(() => {
  gh.setNextLogin('alice')
  gh.setRateLimited(false)
  gh.clearRequests()
})

/** Calls authorize like a browser would and returns where GitHub redirects to. */
async function authorize(params: Record<string, string>, base = gh.baseUrl): Promise<URL> {
  const query = new URLSearchParams({ client_id: gh.clientId, ...params })
  const response = await fetch(`${base}/login/oauth/authorize?${query}`, { redirect: 'manual' })
  expect(response.status).toBe(302)
  return new URL(response.headers.get('location') ?? '')
}

async function pkce() {
  const verifier = oauth.generateRandomCodeVerifier()
  return { verifier, challenge: await oauth.calculatePKCECodeChallenge(verifier) }
}

/** Authorize with PKCE S256, return the code and verifier. */
async function codeFor(scope = SCOPES) {
  const { verifier, challenge } = await pkce()
  const location = await authorize({
    redirect_uri: CALLBACK,
    scope,
    state: 's1',
    code_challenge: challenge,
    code_challenge_method: 'S256',
  })
  return { code: location.searchParams.get('code') ?? '', verifier, location }
}

async function postToken(fields: Record<string, string>, headers: Record<string, string> = {}) {
  const response = await fetch(as.token_endpoint ?? '', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields),
  })
  const type = response.headers.get('content-type')
  return { status: response.status, type, text: await response.text() }
}

const credentials = () => ({ client_id: gh.clientId, client_secret: gh.clientSecret })
const basic = (secret = gh.clientSecret) =>
  `Basic ${Buffer.from(`${gh.clientId}:${secret}`).toString('base64')}`

async function tokenJson(fields: Record<string, string>) {
  const answer = await postToken({ ...credentials(), ...fields }, { accept: 'application/json' })
  expect(answer.status).toBe(200)
  return JSON.parse(answer.text) as Record<string, unknown>
}

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

const tokenError = async (fields: Record<string, string>) => (await tokenJson(fields)).error

function api(path: string, token: string | null, headers: Record<string, string> = {}) {
  return fetch(`${gh.apiUrl}${path}`, {
    headers: {
      accept: 'application/vnd.github+json',
      'x-github-api-version': '2022-11-28',
      'user-agent': 'gateway-test',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
  })
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
    clock += 9 * 60_000
    expect(await tokenError({ code: early.code, code_verifier: early.verifier })).toBeUndefined()
    clock += 60_000 + 1000
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

describe('fake GitHub: REST API', () => {
  it('needs a User-Agent and a valid token', async () => {
    const token = gh.issueToken('alice').token
    const noAgent = await api('/user', token, { 'user-agent': '' })
    expect(noAgent.status).toBe(403)
    expect(await noAgent.text()).toMatch(/^Request forbidden by administrative rules/)
    const bad = await api('/user', 'gho_wrong')
    expect(bad.status).toBe(401)
    expect(await bad.json()).toEqual({
      message: 'Bad credentials',
      documentation_url: 'https://docs.github.com/rest',
      status: '401',
    })
    expect(bad.headers.get('x-ratelimit-limit')).toBe('60')
    const old = await fetch(`${gh.apiUrl}/user`, { headers: { authorization: `token ${token}` } })
    expect(old.status).toBe(200)
    expect(Number(old.headers.get('x-ratelimit-remaining'))).toBeLessThan(5000)
    expect(old.headers.get('x-ratelimit-reset')).toMatch(/^\d+$/)
  })

  it('answers org membership by state and hides e-mails without the scope', async () => {
    const token = gh.issueToken('alice', ['read:user', 'read:org']).token
    const acme = await api('/user/memberships/orgs/ACME', token)
    expect(await acme.json()).toMatchObject({
      state: 'active',
      role: 'member',
      organization: { login: 'acme' },
      user: { login: 'alice' },
    })
    const beta = await api('/user/memberships/orgs/beta', token)
    expect(await beta.json()).toMatchObject({ state: 'pending' })
    const none = await api('/user/memberships/orgs/other', token)
    expect(none.status).toBe(404)
    expect(await none.json()).toMatchObject({ message: 'Not Found' })
    const orgs = (await (await api('/user/orgs', token)).json()) as { login: string }[]
    expect(orgs.map((o) => o.login)).toEqual(['acme'])
    expect((await api('/user/emails', token)).status).toBe(404)

    const narrow = gh.issueToken('alice', ['read:user']).token
    expect((await api('/user/memberships/orgs/acme', narrow)).status).toBe(403)
    expect((await api('/user/orgs', narrow)).status).toBe(403)
    gh.setOrgMembership('alice', 'acme', null)
    expect((await api('/user/memberships/orgs/acme', token)).status).toBe(404)
    gh.setOrgMembership('alice', 'acme', 'active')
  })

  it('lists active team memberships, pages long lists and answers a team membership', async () => {
    const token = gh.issueToken('alice', ['read:user', 'read:org']).token
    gh.setTeamMembership('alice', 'acme/core', 'active')
    gh.setTeamMembership('alice', 'acme/infra', 'pending')
    const teams = (await (await api('/user/teams', token)).json()) as {
      id: number
      slug: string
      organization: { id: number; login: string }
    }[]
    expect(teams).toEqual([
      expect.objectContaining({
        id: expect.any(Number),
        slug: 'core',
        organization: expect.objectContaining({ login: 'acme', id: expect.any(Number) }),
      }),
    ])
    const member = await api('/orgs/acme/teams/core/memberships/alice', token)
    expect(await member.json()).toMatchObject({ state: 'active', role: 'member' })
    const pending = await api('/orgs/acme/teams/infra/memberships/alice', token)
    expect(await pending.json()).toMatchObject({ state: 'pending' })
    expect((await api('/orgs/acme/teams/other/memberships/alice', token)).status).toBe(404)
    const narrow = gh.issueToken('alice', ['read:user']).token
    expect((await api('/user/teams', narrow)).status).toBe(403)

    for (let i = 0; i < 3; i++) gh.setTeamMembership('alice', `acme/team-${i}`, 'active')
    const first = await api('/user/teams?per_page=2', token)
    expect(await first.json()).toHaveLength(2)
    const next = /<([^>]+)>; rel="next"/.exec(first.headers.get('link') ?? '')?.[1] ?? ''
    expect(next).toContain('page=2')
    const second = await fetch(next, {
      headers: { authorization: `Bearer ${token}`, 'user-agent': 'test' },
    })
    expect(await second.json()).toHaveLength(2)

    // Leaving the organisation leaves its teams, as on GitHub.
    gh.setOrgMembership('alice', 'acme', null)
    expect(await (await api('/user/teams', token)).json()).toEqual([])
    gh.setOrgMembership('alice', 'acme', 'active')
  })

  it('rate-limit mode answers 403 (or 429) with no requests remaining', async () => {
    const token = gh.issueToken('alice').token
    gh.setRateLimited(true)
    const limited = await api('/user', token)
    expect(limited.status).toBe(403)
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0')
    expect(await limited.json()).toMatchObject({ message: expect.stringMatching(/rate limit/) })
    gh.setRateLimited(true, 429)
    expect((await api('/user', token)).status).toBe(429)
    gh.setRateLimited(false)
    expect((await api('/user', token)).status).toBe(200)
  })
})

describe('fake GitHub: repositories and issues', () => {
  const post = (path: string, token: string, body: unknown) =>
    fetch(`${gh.apiUrl}${path}`, {
      method: 'POST',
      headers: {
        'user-agent': 'gateway-test',
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify(body),
    })

  it('shows private repositories and opens issues only with the scopes GitHub asks for', async () => {
    gh.addRepository({ owner: 'bob', name: 'site' })
    gh.addRepository({ owner: 'bob', name: 'secrets', private: true, collaborators: ['alice'] })
    const names = async (token: string) =>
      ((await (await api('/user/repos', token)).json()) as { full_name: string }[]).map(
        (repo) => repo.full_name
      )
    expect(await names(gh.issueToken('bob', ['read:user']).token)).toEqual(['bob/site'])
    expect(await names(gh.issueToken('bob', ['repo']).token)).toEqual(['bob/site', 'bob/secrets'])
    expect(await names(gh.issueToken('alice', ['repo']).token)).toEqual(['bob/secrets'])

    const reader = gh.issueToken('alice', ['read:user']).token
    expect((await post('/repos/bob/site/issues', reader, { title: 'x' })).status).toBe(404)
    expect((await api('/repos/bob/secrets/issues/1', reader)).status).toBe(404)

    const writer = gh.issueToken('alice', ['public_repo']).token
    const missingTitle = await post('/repos/bob/site/issues', writer, { body: 'no title' })
    expect(missingTitle.status).toBe(422)
    const opened = await post('/repos/bob/site/issues', writer, { title: 'Hi', body: 'there' })
    expect(opened.status).toBe(201)
    expect(await opened.json()).toMatchObject({ number: 1, title: 'Hi', user: { login: 'alice' } })
    const read = await api('/repos/BOB/Site/issues/1', writer)
    expect(await read.json()).toMatchObject({ number: 1, body: 'there', state: 'open' })
    expect((await api('/repos/bob/site/issues/2', writer)).status).toBe(404)
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
    clock += 28_800_000
    expect((await api('/user', String(second.access_token))).status).toBe(401)
    const third = await tokenJson({ ...refresh, refresh_token: String(second.refresh_token) })
    expect((await api('/user', String(third.access_token))).status).toBe(200)
  })
})

describe('fake GitHub: Enterprise Server layout', () => {
  it('serves OAuth and REST on one host, REST under /api/v3', async () => {
    const ghes = await startFakeGitHub({ enterprise: true, users: [{ id: 5, login: 'dora' }] })
    expect(ghes.apiUrl).toBe(`${ghes.baseUrl}/api/v3`)
    const token = ghes.issueToken('dora').token
    const headers = { 'user-agent': 'gateway-test', authorization: `Bearer ${token}` }
    const user = await fetch(`${ghes.apiUrl}/user`, { headers })
    expect(await user.json()).toMatchObject({ login: 'dora' })
    expect((await fetch(`${ghes.baseUrl}/user`, { headers })).status).toBe(404)
    expect(ghes.requests.map((r) => r.server)).toEqual(['api', 'web'])
    await ghes.close()
  })
})
