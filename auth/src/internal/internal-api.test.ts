import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import type { Hono } from 'hono'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import {
  type DirectoryUser,
  type GitHubToken,
  httpUserDirectory,
  UserDirectoryUnavailable,
} from '../../../mcp-services/src/user-directory.ts'
import { createTestAuthServer, type TestAuthServer } from '../../../tests/support/auth-app.ts'
import { type FakeGitHub, startFakeGitHub } from '../../../tests/support/fake-github.ts'
import {
  ALICE,
  exchangeCode,
  newPkce,
  obtainCode,
  registerTestClient,
  tokenRequest,
  useFlowServer,
} from '../../../tests/support/oauth-flow.ts'

const SECRET = 'internal-secret-of-the-test-deployment-0123456789'
const ALICE_ID = String(ALICE.id)

const internal = (app: Hono | undefined, path: string, secret: string | null = SECRET) =>
  Promise.resolve(
    (app as Hono).request(`http://auth:8001${path}`, {
      headers: secret === null ? {} : { Authorization: `Bearer ${secret}` },
    })
  )

/** Alice signs in through the fake GitHub and gets tokens for a new client. */
async function signIn(server: TestAuthServer) {
  const client = await registerTestClient(server)
  const { code, pkce } = await obtainCode(server, client, newPkce())
  const tokens = (await (await exchangeCode(server, client, code, pkce)).json()) as {
    refresh_token: string
  }
  return { client, tokens }
}

describe('the internal API (users and their GitHub tokens, for the bridges)', () => {
  let github: FakeGitHub
  let server: TestAuthServer
  // Every refresh asks GitHub (USER_RECHECK_INTERVAL=0): the records follow each check.
  useFlowServer(
    {
      ALLOWED_GITHUB_USERS: 'mallory',
      ALLOWED_GITHUB_ORGS: 'acme',
      INTERNAL_API_SECRET: SECRET,
      USER_RECHECK_INTERVAL: '0',
    },
    (fixture) => {
      ;({ github, server } = fixture)
    }
  )
  beforeEach(() => {
    github.setOrgMembership('alice', 'acme', 'active')
    github.setOrgMembership('alice', 'other-org', 'active')
    github.setTeamMembership('alice', 'acme/core', 'active')
  })

  it('refuses a request without the secret or with a wrong one, OAuth-shaped', async () => {
    for (const secret of [null, 'wrong', `${SECRET}x`, '']) {
      const response = await internal(server.internalApp, `/internal/users/${ALICE_ID}`, secret)
      expect(response.status, String(secret)).toBe(401)
      expect(await response.json()).toMatchObject({ error: 'invalid_token' })
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/)
    }
    const basic = await server.internalApp?.request(`/internal/users/${ALICE_ID}`, {
      headers: { Authorization: `Basic ${Buffer.from(`x:${SECRET}`).toString('base64')}` },
    })
    expect(basic?.status).toBe(401)
  })

  it('answers 404 for a user the gateway keeps no grant for, and for unknown paths', async () => {
    for (const path of ['/internal/users/424242', '/internal/users/424242/github-token']) {
      const response = await internal(server.internalApp, path)
      expect(response.status, path).toBe(404)
      expect(await response.json()).toMatchObject({
        error: 'not_found',
        error_description: expect.any(String),
      })
    }
    expect((await internal(server.internalApp, '/metrics-not-yet')).status).toBe(404)
  })

  it('serves the user and memberships as GitHub answered at sign-in', async () => {
    await signIn(server)
    const response = await internal(server.internalApp, `/internal/users/${ALICE_ID}`)
    expect(response.status).toBe(200)
    const user = (await response.json()) as DirectoryUser
    expect(user).toEqual({
      id: ALICE_ID,
      login: 'alice',
      organizations: expect.arrayContaining([
        { id: expect.any(Number), login: 'acme' },
        { id: expect.any(Number), login: 'other-org' },
      ]),
      teams: [
        {
          id: expect.any(Number),
          slug: 'core',
          organization: { id: expect.any(Number), login: 'acme' },
        },
      ],
      checked_at: Math.floor(server.clock.now() / 1000),
    })
    expect(user.organizations).toHaveLength(2)
    // The same answer in process (standalone bridges).
    expect(await server.users.user(ALICE_ID)).toEqual(user)
  })

  it('records the memberships again at every refresh', async () => {
    const { client, tokens } = await signIn(server)
    github.setTeamMembership('alice', 'acme/core', null)
    github.setTeamMembership('alice', 'acme/platform', 'active')
    server.clock.advance(60_000)
    const refresh = await tokenRequest(server, client, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token,
    })
    expect(refresh.status).toBe(200)
    const user = (await (
      await internal(server.internalApp, `/internal/users/${ALICE_ID}`)
    ).json()) as DirectoryUser
    expect(user.teams.map((team) => team.slug)).toEqual(['platform'])
    expect(user.checked_at).toBe(Math.floor(server.clock.now() / 1000))
  })

  it('hands out the user’s own GitHub token and never logs it', async () => {
    await signIn(server)
    const response = await internal(server.internalApp, `/internal/users/${ALICE_ID}/github-token`)
    expect(response.status).toBe(200)
    expect(response.headers.get('cache-control')).toBe('no-store')
    const body = (await response.json()) as Record<string, unknown>
    const live = github.tokensOf('alice').map((token) => token.token)
    expect(body).toEqual({ access_token: live.at(-1), token_type: 'bearer' })
    expect(JSON.stringify(server.logs)).not.toContain(String(body.access_token))
  })

  it('forgets a user refused at a refresh: no user, no token', async () => {
    const { client, tokens } = await signIn(server)
    github.setOrgMembership('alice', 'acme', null)
    const refresh = await tokenRequest(server, client, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token,
    })
    expect(await refresh.json()).toMatchObject({ error: 'invalid_grant' })
    for (const path of [
      `/internal/users/${ALICE_ID}`,
      `/internal/users/${ALICE_ID}/github-token`,
    ]) {
      expect((await internal(server.internalApp, path)).status, path).toBe(404)
    }
    expect(await server.users.githubToken(ALICE_ID)).toBeUndefined()
  })

  it('is a client the bridges use over HTTP, with the same answers', async () => {
    await signIn(server)
    const listener = serve({ fetch: (server.internalApp as Hono).fetch, port: 0 })
    try {
      await new Promise((resolve) => listener.once('listening', resolve))
      const url = `http://127.0.0.1:${(listener.address() as AddressInfo).port}/`
      const directory = httpUserDirectory({ url, secret: SECRET })
      expect(await directory.user(ALICE_ID)).toEqual(await server.users.user(ALICE_ID))
      expect(await directory.githubToken(ALICE_ID)).toEqual(
        await server.users.githubToken(ALICE_ID)
      )
      expect(await directory.user('424242')).toBeUndefined()
      expect(await directory.githubToken('424242')).toBeUndefined()
      await expect(httpUserDirectory({ url, secret: 'wrong' }).user(ALICE_ID)).rejects.toThrow(
        UserDirectoryUnavailable
      )
    } finally {
      listener.close()
    }
  })
})

describe('the internal API with expiring GitHub tokens', () => {
  let github: FakeGitHub
  let server: TestAuthServer
  beforeAll(async () => {
    github = await startFakeGitHub({
      callbackUrl: 'http://localhost:8080/callback',
      users: [ALICE],
      expiringTokens: true,
      // GitHub's tokens expire on the gateway's (manual) clock.
      now: () => server?.clock.now() ?? Date.now(),
    })
    server = await createTestAuthServer({
      ...github.env,
      ALLOWED_GITHUB_USERS: 'alice',
      INTERNAL_API_SECRET: SECRET,
    })
  })
  afterAll(async () => {
    await server.close()
    await github.close()
  })

  it('renews a token about to expire first, once for parallel callers, and keeps it', async () => {
    await signIn(server)
    const first = await server.users.githubToken(ALICE_ID)
    expect(first?.expires_in).toBe(28_800)
    server.clock.advance((28_800 - 120) * 1000)
    github.clearRequests()
    const answers = await Promise.all(
      [1, 2, 3].map(() => internal(server.internalApp, `/internal/users/${ALICE_ID}/github-token`))
    )
    const tokens = await Promise.all(
      answers.map(async (answer) => (await answer.json()) as GitHubToken)
    )
    const renewed = tokens[0] as GitHubToken
    expect(renewed.access_token).not.toBe(first?.access_token)
    expect(renewed.expires_in).toBe(28_800)
    expect(tokens.every((token) => token.access_token === renewed.access_token)).toBe(true)
    const refreshes = github.requests.filter((r) => r.path === '/login/oauth/access_token')
    expect(refreshes).toHaveLength(1)
    expect(github.token(renewed.access_token)?.login).toBe('alice')
    // Kept: the next call gets the renewed token without asking GitHub.
    expect((await server.users.githubToken(ALICE_ID))?.access_token).toBe(renewed.access_token)
    expect(github.requests.filter((r) => r.path === '/login/oauth/access_token')).toHaveLength(1)
  })

  it('renews an expired GitHub token before a refresh re-checks the user with it', async () => {
    const { client, tokens } = await signIn(server)
    server.clock.advance(9 * 3600 * 1000)
    github.clearRequests()
    const refresh = await tokenRequest(server, client, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token,
    })
    expect(refresh.status).toBe(200)
    const renewals = github.requests.filter(
      (r) => r.path === '/login/oauth/access_token' && r.body.includes('grant_type=refresh_token')
    )
    expect(renewals).toHaveLength(1)
    expect((await server.users.user(ALICE_ID))?.checked_at).toBe(
      Math.floor(server.clock.now() / 1000)
    )
  })

  it('forgets the token when GitHub refuses the renewal', async () => {
    await signIn(server)
    github.revokeTokensOf('alice')
    server.clock.advance(28_800 * 1000)
    const response = await internal(server.internalApp, `/internal/users/${ALICE_ID}/github-token`)
    expect(response.status).toBe(404)
    expect(await server.users.user(ALICE_ID)).toBeUndefined()
  })
})

describe('without INTERNAL_API_SECRET', () => {
  it('builds no internal API', async () => {
    const server = await createTestAuthServer()
    try {
      expect(server.internalApp).toBeUndefined()
    } finally {
      await server.close()
    }
  })
})
