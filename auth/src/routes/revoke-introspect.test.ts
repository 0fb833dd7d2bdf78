import { beforeEach, describe, expect, it } from 'vitest'
import type { TestAuthServer } from '../../../tests/support/auth-app.ts'
import type { FakeGitHub } from '../../../tests/support/fake-github.ts'
import {
  clientRequest,
  exchangeCode,
  obtainCode,
  type RegisteredClient,
  registerTestClient,
  tokenRequest,
  useFlowServer,
} from '../../../tests/support/oauth-flow.ts'

describe('revocation (RFC 7009), introspection (RFC 7662) and re-checks on refresh', () => {
  let github: FakeGitHub
  let server: TestAuthServer
  // Every refresh asks GitHub (USER_RECHECK_INTERVAL=0): these tests are about that check.
  useFlowServer(
    { ALLOWED_GITHUB_USERS: 'mallory', ALLOWED_GITHUB_ORGS: 'acme', USER_RECHECK_INTERVAL: '0' },
    (fixture) => {
      ;({ github, server } = fixture)
    }
  )
  beforeEach(() => {
    github.setOrgMembership('alice', 'acme', 'active')
  })

  const post = (path: string, client: RegisteredClient, params: Record<string, string>) =>
    clientRequest(server, client, path, params)

  const signIn = async (client: RegisteredClient) => {
    const { code, pkce } = await obtainCode(server, client)
    return (await (await exchangeCode(server, client, code, pkce)).json()) as Record<string, string>
  }

  it('lets in active members of an allowed organisation', async () => {
    const tokens = await signIn(await registerTestClient(server))
    expect(tokens.access_token).toBeTruthy()
  })

  it('revoking a refresh token revokes its family', async () => {
    const client = await registerTestClient(server)
    const tokens = await signIn(client)
    const revoked = await post('/revoke', client, {
      token: tokens.refresh_token ?? '',
      token_type_hint: 'refresh_token',
    })
    expect(revoked.status).toBe(200)
    const refresh = await tokenRequest(server, client, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token ?? '',
    })
    expect(await refresh.json()).toMatchObject({ error: 'invalid_grant' })
    const introspection = await post('/introspect', client, { token: tokens.access_token ?? '' })
    expect(await introspection.json()).toEqual({ active: false })
  })

  it('revoking an access token leaves the refresh token working', async () => {
    const client = await registerTestClient(server)
    const tokens = await signIn(client)
    expect((await post('/revoke', client, { token: tokens.access_token ?? '' })).status).toBe(200)
    expect(
      await (await post('/introspect', client, { token: tokens.access_token ?? '' })).json()
    ).toEqual({ active: false })
    const refresh = await tokenRequest(server, client, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token ?? '',
    })
    expect(refresh.status).toBe(200)
  })

  it('answers 200 for unknown tokens and for other clients’ tokens, revoking nothing', async () => {
    const owner = await registerTestClient(server)
    const other = await registerTestClient(server)
    const tokens = await signIn(owner)
    expect((await post('/revoke', other, { token: 'not-a-token' })).status).toBe(200)
    expect((await post('/revoke', other, { token: tokens.refresh_token ?? '' })).status).toBe(200)
    const refresh = await tokenRequest(server, owner, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token ?? '',
    })
    expect(refresh.status).toBe(200)
  })

  it('requires client authentication for revocation', async () => {
    const client = await registerTestClient(server)
    const response = await post('/revoke', { ...client, client_secret: 'wrong' }, { token: 'x' })
    expect(response.status).toBe(401)
    expect(await response.json()).toMatchObject({ error: 'invalid_client' })
    const noToken = await post('/revoke', client, {})
    expect(await noToken.json()).toMatchObject({ error: 'invalid_request' })
  })

  it('introspects a client’s own live tokens only, and only for confidential clients', async () => {
    const client = await registerTestClient(server)
    const tokens = await signIn(client)
    const active = (await (
      await post('/introspect', client, { token: tokens.access_token ?? '' })
    ).json()) as Record<string, unknown>
    expect(active).toMatchObject({
      active: true,
      client_id: client.client_id,
      username: 'alice',
      scope: 'mcp',
      token_type: 'Bearer',
    })
    const refresh = (await (
      await post('/introspect', client, { token: tokens.refresh_token ?? '' })
    ).json()) as Record<string, unknown>
    expect(refresh).toMatchObject({ active: true, client_id: client.client_id, scope: 'mcp' })
    expect(refresh).not.toHaveProperty('token_type')
    expect(refresh.exp).toBeTypeOf('number')

    const stranger = await registerTestClient(server)
    expect(
      await (await post('/introspect', stranger, { token: tokens.access_token ?? '' })).json()
    ).toEqual({ active: false })

    const publicClient = await registerTestClient(server, { token_endpoint_auth_method: 'none' })
    const refused = await post('/introspect', publicClient, { token: tokens.access_token ?? '' })
    expect(refused.status).toBe(401)

    // Revoked just after an "active" answer: inactive at once, not a second later.
    expect((await post('/revoke', client, { token: tokens.access_token ?? '' })).status).toBe(200)
    expect(
      await (await post('/introspect', client, { token: tokens.access_token ?? '' })).json()
    ).toEqual({ active: false })
  })

  it('cuts off, at the next refresh, a user who left the allowed organisation', async () => {
    const client = await registerTestClient(server)
    const tokens = await signIn(client)
    github.setOrgMembership('alice', 'acme', null)
    const refresh = await tokenRequest(server, client, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token ?? '',
    })
    expect(await refresh.json()).toMatchObject({ error: 'invalid_grant' })
    expect(
      server.logs.some((line) => line.event === 'refresh_denied' && line.reason === 'not_allowed')
    ).toBe(true)
  })

  it('cuts off a user who revoked the app at GitHub', async () => {
    const client = await registerTestClient(server)
    const tokens = await signIn(client)
    github.revokeTokensOf('alice')
    const refresh = await tokenRequest(server, client, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token ?? '',
    })
    expect(await refresh.json()).toMatchObject({ error: 'invalid_grant' })
  })

  it('keeps refresh possible when GitHub is briefly rate limiting (no token used up)', async () => {
    const client = await registerTestClient(server)
    const tokens = await signIn(client)
    github.setRateLimited(true)
    try {
      const refused = await tokenRequest(server, client, {
        grant_type: 'refresh_token',
        refresh_token: tokens.refresh_token ?? '',
      })
      expect(refused.status).toBe(503)
      expect(await refused.json()).toMatchObject({ error: 'temporarily_unavailable' })
    } finally {
      github.setRateLimited(false)
    }
    const retried = await tokenRequest(server, client, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token ?? '',
    })
    expect(retried.status).toBe(200)
  })

  it('answers CORS preflights on /token and /revoke but not on /authorize', async () => {
    const preflight = (path: string) =>
      server.request(path, {
        method: 'OPTIONS',
        headers: { Origin: 'https://chatgpt.com', 'Access-Control-Request-Method': 'POST' },
      })
    for (const path of ['/token', '/revoke']) {
      expect((await preflight(path)).headers.get('access-control-allow-origin')).toBe('*')
    }
    expect((await preflight('/authorize')).headers.get('access-control-allow-origin')).toBeNull()
  })
})
