import { decodeJwt } from 'jose'
import { describe, expect, it } from 'vitest'
import type { TestAuthServer } from '../../../tests/support/auth-app.ts'
import type { FakeGitHub } from '../../../tests/support/fake-github.ts'
import {
  ALICE,
  authorizeUrl,
  browserFor,
  exchangeCode,
  newPkce,
  obtainCode,
  registerTestClient,
  tokenRequest,
  useFlowServer,
} from '../../../tests/support/oauth-flow.ts'

/**
 * GitHub keeps a user's id when they rename their login. The fake looks users up by the login
 * their token was issued to, so renaming the record in place is what its `/user` then answers.
 */
function renameAtGitHub(github: FakeGitHub, login: string, to: string): () => void {
  const user = github.user(login) as { login: string }
  user.login = to
  return () => {
    user.login = login
  }
}

async function signIn(server: TestAuthServer) {
  const client = await registerTestClient(server)
  const { code, pkce } = await obtainCode(server, client)
  const response = await exchangeCode(server, client, code, pkce)
  expect(response.status).toBe(200)
  const tokens = (await response.json()) as { access_token: string; refresh_token: string }
  return { client, tokens }
}

describe('ALLOWED_GITHUB_USERS by GitHub id', () => {
  let github: FakeGitHub
  let server: TestAuthServer
  useFlowServer({ ALLOWED_GITHUB_USERS: `id:${ALICE.id}` }, (fixture) => {
    ;({ github, server } = fixture)
  })

  it('lets the listed id sign in, and nobody else', async () => {
    const { tokens } = await signIn(server)
    expect(decodeJwt(tokens.access_token)).toMatchObject({ sub: String(ALICE.id), login: 'alice' })

    github.setNextLogin('mallory')
    const client = await registerTestClient(server)
    const stop = client.redirect_uris[0] ?? ''
    const browser = browserFor(server)
    const consent = await browser.open(authorizeUrl(client, newPkce()), stop)
    const landed = await browser.submitConsent(consent, 'approve', stop)
    expect(new URL(landed.url).searchParams.get('error')).toBe('access_denied')
  })

  it('keeps a renamed user in at the refresh re-check, with the new login in the token', async () => {
    const { client, tokens } = await signIn(server)
    const restore = renameAtGitHub(github, 'alice', 'alice-renamed')
    try {
      const refresh = await tokenRequest(server, client, {
        grant_type: 'refresh_token',
        refresh_token: tokens.refresh_token,
      })
      expect(refresh.status).toBe(200)
      const refreshed = (await refresh.json()) as { access_token: string }
      expect(decodeJwt(refreshed.access_token)).toMatchObject({
        sub: String(ALICE.id),
        login: 'alice-renamed',
      })
    } finally {
      restore()
    }
  })
})

describe('ALLOWED_GITHUB_USERS by login', () => {
  let github: FakeGitHub
  let server: TestAuthServer
  useFlowServer({ ALLOWED_GITHUB_USERS: 'login:alice' }, (fixture) => {
    ;({ github, server } = fixture)
  })

  it('follows the login: a renamed user is cut off at the next refresh', async () => {
    const { client, tokens } = await signIn(server)
    const restore = renameAtGitHub(github, 'alice', 'alice-renamed')
    try {
      const refresh = await tokenRequest(server, client, {
        grant_type: 'refresh_token',
        refresh_token: tokens.refresh_token,
      })
      expect(await refresh.json()).toMatchObject({ error: 'invalid_grant' })
      expect(
        server.logs.some((line) => line.event === 'refresh_denied' && line.reason === 'not_allowed')
      ).toBe(true)
    } finally {
      restore()
    }
  })
})
