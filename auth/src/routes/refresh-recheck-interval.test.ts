import { decodeJwt } from 'jose'
import { beforeEach, describe, expect, it } from 'vitest'
import type { TestAuthServer } from '../../../tests/support/auth-app.ts'
import type { FakeGitHub } from '../../../tests/support/fake-github.ts'
import {
  exchangeCode,
  obtainCode,
  type RegisteredClient,
  registerTestClient,
  tokenRequest,
  useFlowServer,
} from '../../../tests/support/oauth-flow.ts'
import { keys } from '../store/keys.ts'

type Tokens = { access_token: string; refresh_token: string }

/**
 * USER_RECHECK_INTERVAL: a refresh asks GitHub about the user at most once per interval, however
 * many clients refresh (they share the user's one GitHub grant and rate limit). A refresh that
 * believes the last check mints the same subject, memberships included; a leaver is cut off once
 * the interval since the last check is over.
 */
describe('refreshes re-check the user at GitHub at most once per interval', () => {
  let github: FakeGitHub
  let server: TestAuthServer
  useFlowServer(
    {
      ALLOWED_GITHUB_ORGS: 'acme',
      ALLOWED_GITHUB_TEAMS: 'acme/core',
      USER_RECHECK_INTERVAL: '120',
    },
    (fixture) => {
      ;({ github, server } = fixture)
    }
  )
  beforeEach(() => {
    github.setOrgMembership('alice', 'acme', 'active')
    github.setTeamMembership('alice', 'acme/core', 'active')
  })

  const signIn = async (): Promise<{ client: RegisteredClient; tokens: Tokens }> => {
    const client = await registerTestClient(server)
    const { code, pkce } = await obtainCode(server, client)
    const tokens = (await (await exchangeCode(server, client, code, pkce)).json()) as Tokens
    return { client, tokens }
  }
  const refresh = async (client: RegisteredClient, refreshToken: string) => {
    const response = await tokenRequest(server, client, {
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
    })
    return { status: response.status, body: (await response.json()) as Tokens & { error?: string } }
  }
  const userCalls = () => github.requests.filter((request) => request.path === '/user').length

  it('asks GitHub once for refreshes of two clients within the interval, same claims', async () => {
    const first = await signIn()
    const second = await signIn()
    server.clock.advance(121_000)
    github.clearRequests()
    const a = await refresh(first.client, first.tokens.refresh_token)
    const b = await refresh(second.client, second.tokens.refresh_token)
    server.clock.advance(60_000)
    const c = await refresh(first.client, a.body.refresh_token)
    expect([a.status, b.status, c.status]).toEqual([200, 200, 200])
    expect(userCalls()).toBe(1)
    const claims = [a, b, c].map((r) => decodeJwt(r.body.access_token))
    for (const claim of claims) expect(claim).toMatchObject({ login: 'alice', orgs: ['acme'] })
    // The memberships of the last real check stay with the user for the internal API.
    const checked = JSON.parse((await server.store.get(keys.checkedUser('1001'))) ?? '{}')
    expect(checked.teams).toEqual([expect.objectContaining({ slug: 'core' })])

    server.clock.advance(61_000)
    await refresh(first.client, c.body.refresh_token)
    expect(userCalls()).toBe(2)
  })

  it('cuts a leaver off once the interval since the last check is over', async () => {
    const { client, tokens } = await signIn()
    server.clock.advance(121_000)
    const checked = await refresh(client, tokens.refresh_token)
    expect(checked.status).toBe(200)
    github.setTeamMembership('alice', 'acme/core', null)
    github.setOrgMembership('alice', 'acme', null)
    // Within the interval the last check stands (the bound USER_RECHECK_INTERVAL documents).
    server.clock.advance(100_000)
    const within = await refresh(client, checked.body.refresh_token)
    expect(within.status).toBe(200)
    server.clock.advance(21_000)
    const after = await refresh(client, within.body.refresh_token)
    expect(after).toMatchObject({ status: 400, body: { error: 'invalid_grant' } })
    // Refused: nothing of the check is believed any more, and the family is gone.
    expect(await server.store.get(keys.recentCheck('1001'))).toBeNull()
    expect((await refresh(client, within.body.refresh_token)).status).toBe(400)
  })
})
