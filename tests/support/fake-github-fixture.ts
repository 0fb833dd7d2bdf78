import * as oauth from 'oauth4webapi'
import { afterAll, beforeAll, beforeEach, expect } from 'vitest'
import { type FakeGitHub, startFakeGitHub } from './fake-github.ts'

export const CALLBACK = 'http://127.0.0.1:4000/github/callback'
export const SCOPES = 'read:user user:email read:org'

export interface FakeGitHubFixture {
  readonly gh: FakeGitHub
  readonly as: oauth.AuthorizationServer
  readonly client: oauth.Client
}

/**
 * Registers the hooks of one of the fake's own test files (fake-github-*.test.ts): a fake GitHub
 * with alice and bob, on a clock the file moves (`advanceClock`), alice signing in unless a test
 * says otherwise. Answers the calls a gateway makes to GitHub.
 */
export function useFakeGitHub(ready: (fixture: FakeGitHubFixture) => void) {
  let clock = Date.UTC(2026, 10, 1)
  let gh: FakeGitHub
  let as: oauth.AuthorizationServer

  beforeAll(async () => {
    gh = await startFakeGitHub({ callbackUrl: CALLBACK, now: () => clock })
    gh.addUser({
      id: 1001,
      login: 'alice',
      name: 'Alice',
      orgs: { acme: 'active', beta: 'pending' },
    })
    gh.addUser({ id: 1002, login: 'bob', email: 'bob@example.org' })
    // GitHub has no discovery document: the gateway builds this object by hand.
    as = {
      issuer: gh.baseUrl,
      authorization_endpoint: `${gh.baseUrl}/login/oauth/authorize`,
      token_endpoint: `${gh.baseUrl}/login/oauth/access_token`,
    }
    ready({ gh, as, client: { client_id: gh.clientId } })
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

  return {
    /** Moves the fake's clock (codes and tokens expire by it). */
    advanceClock: (ms: number) => {
      clock += ms
    },
    authorize,
    pkce,
    codeFor,
    postToken,
    credentials,
    basic,
    tokenJson,
    tokenError,
    api,
  }
}
