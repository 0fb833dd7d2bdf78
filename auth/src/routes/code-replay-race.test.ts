import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import type { TestAuthServer } from '../../../tests/support/auth-app.ts'
import {
  browserFor,
  clientRequest,
  exchangeCode,
  obtainCode,
  registerTestClient,
  tokenRequest,
  useFlowServer,
} from '../../../tests/support/oauth-flow.ts'
import { tokenLifetimes } from '../oauth/revocation.ts'
import { keys } from '../store/keys.ts'
import { revokeRefreshFamily } from '../tokens/family-revocation.ts'
import {
  findRefreshFamily,
  RefreshFamilyRevoked,
  startRefreshFamily,
} from '../tokens/refresh-tokens.ts'

const ACCESS_TOKEN_TTL = 2
const RACES = 25

describe('a code redeemed twice at once (Redis)', () => {
  let server: TestAuthServer
  useFlowServer(
    { ALLOWED_GITHUB_USERS: 'alice', ACCESS_TOKEN_TTL: String(ACCESS_TOKEN_TTL) },
    (fixture) => {
      server = fixture.server
    }
  )

  it('revokes for good whatever the winner wrote, whichever write lands first', async () => {
    const client = await registerTestClient(server)
    const browser = browserFor(server)
    const issued: { access: string; refresh: string }[] = []
    let refusedPairs = 0
    for (let race = 0; race < RACES; race++) {
      const { code, pkce } = await obtainCode(server, client, undefined, browser)
      const answers = await Promise.all([
        exchangeCode(server, client, code, pkce),
        exchangeCode(server, client, code, pkce),
      ])
      const bodies = (await Promise.all(answers.map((a) => a.json()))) as Record<string, string>[]
      // Exactly one redemption may win; the other is a replay.
      expect(bodies.filter((body) => body.error === 'invalid_grant').length).toBeGreaterThan(0)
      const won = bodies.find((body) => body.access_token)
      if (won) issued.push({ access: won.access_token ?? '', refresh: won.refresh_token ?? '' })
      else refusedPairs++
    }
    expect(issued.length + refusedPairs).toBe(RACES)

    const introspect = (token: string) => clientRequest(server, client, '/introspect', { token })
    const expectAllInactive = async () => {
      for (const { access, refresh } of issued) {
        expect(await (await introspect(refresh)).json()).toEqual({ active: false })
        expect(await (await introspect(access)).json()).toEqual({ active: false })
      }
    }
    await expectAllInactive()

    // Past the access-token lifetime, on Redis' clock (marker TTLs) and on the gateway's.
    await sleep((ACCESS_TOKEN_TTL + 1) * 1000)
    server.clock.advance((ACCESS_TOKEN_TTL + 1) * 1000)
    await expectAllInactive()
    for (const { refresh } of issued) {
      const response = await tokenRequest(server, client, {
        grant_type: 'refresh_token',
        refresh_token: refresh,
      })
      expect(response.status).toBe(400)
      expect(await response.json()).toMatchObject({ error: 'invalid_grant' })
    }
  })

  it('revokes what a code issued when it is replayed after the access-token lifetime', async () => {
    const client = await registerTestClient(server)
    const { code, pkce } = await obtainCode(server, client, undefined, browserFor(server))
    const first = (await (await exchangeCode(server, client, code, pkce)).json()) as Record<
      string,
      string
    >
    await sleep((ACCESS_TOKEN_TTL + 1) * 1000)
    server.clock.advance((ACCESS_TOKEN_TTL + 1) * 1000)
    const replay = await exchangeCode(server, client, code, pkce)
    expect(await replay.json()).toMatchObject({ error: 'invalid_grant' })
    const refreshed = await tokenRequest(server, client, {
      grant_type: 'refresh_token',
      refresh_token: first.refresh_token ?? '',
    })
    expect(await refreshed.json()).toMatchObject({ error: 'invalid_grant' })
  })

  it('never starts a family after its revocation', async () => {
    const client = await registerTestClient(server)
    const lifetimes = tokenLifetimes(server.config)
    await revokeRefreshFamily(server.store, 'late-family', lifetimes)
    const start = startRefreshFamily(
      server.store,
      server.clock,
      {
        familyId: 'late-family',
        clientId: client.client_id,
        subject: { id: '1001', login: 'alice' },
        scopes: ['mcp'],
        resources: [`${server.config.issuer}/echo/mcp`],
      },
      lifetimes
    )
    await expect(start).rejects.toBeInstanceOf(RefreshFamilyRevoked)
    expect(await findRefreshFamily(server.store, 'late-family')).toBeNull()
    expect(await server.store.setMembers(keys.userFamilies('1001'))).not.toContain('late-family')
  })
})
