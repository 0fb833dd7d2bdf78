import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { decodeJwt } from 'jose'
import { describe, expect, it } from 'vitest'
import { ECHO_FORWARDED_HEADERS, type TestAuthServer } from '../../../tests/support/auth-app.ts'
import {
  ALICE,
  exchangeCode,
  newPkce,
  obtainCode,
  type RegisteredClient,
  registerTestClient,
  tokenRequest,
  useFlowServer,
} from '../../../tests/support/oauth-flow.ts'
import { rememberConsent } from '../authorization/consent.ts'
import { keys } from '../store/keys.ts'
import { startRefreshFamily } from '../tokens/refresh-tokens.ts'
import type { FamilyListing } from '../tokens/token-families.ts'
import { runCommand } from './run-command.ts'

describe('tokens list, tokens revoke and purge-expired', () => {
  let server: TestAuthServer
  useFlowServer({ ALLOWED_GITHUB_USERS: 'alice' }, (fixture) => {
    server = fixture.server
  })
  const context = () => ({ config: server.config, store: server.store, clock: server.clock })
  const signIn = async (client: RegisteredClient) => {
    const pkce = newPkce()
    const { code } = await obtainCode(server, client, pkce)
    return (await (await exchangeCode(server, client, code, pkce)).json()) as Record<string, string>
  }
  const verify = (token: string) =>
    server.request('/verify', {
      headers: { ...ECHO_FORWARDED_HEADERS, Authorization: `Bearer ${token}` },
    })
  const refresh = (client: RegisteredClient, token: string) =>
    tokenRequest(server, client, { grant_type: 'refresh_token', refresh_token: token })
  /** /verify believes a "not revoked" answer for one second: let it pass. */
  const afterRevocationCache = () => server.clock.advance(1_001)

  it('lists token families by user, client and id, never a token value', async () => {
    const client = await registerTestClient(server, { client_name: 'Lister' })
    const tokens = await signIn(client)
    const byClient = await runCommand(context(), ['tokens', 'list', '--client', client.client_id])
    const families = byClient.data as FamilyListing[]
    expect(families).toEqual([
      expect.objectContaining({
        user_id: String(ALICE.id),
        user_login: 'alice',
        client_id: client.client_id,
        scopes: ['mcp'],
        resources: ['http://localhost:8080/echo/mcp'],
      }),
    ])
    const [family] = families
    expect(Date.parse(family?.expires_at ?? '')).toBeGreaterThan(server.clock.now())
    expect(family?.last_refreshed_at).toBe(family?.created_at)
    for (const [user] of [['alice'], [String(ALICE.id)], ['ALICE']]) {
      const byUser = await runCommand(context(), ['tokens', 'list', '--user', user ?? ''])
      expect((byUser.data as FamilyListing[]).map((f) => f.id)).toContain(family?.id)
    }
    const byId = await runCommand(context(), ['tokens', 'list', '--family', family?.id ?? ''])
    expect(byId.data).toEqual([family])
    const nobody = await runCommand(context(), ['tokens', 'list', '--user', 'nobody'])
    expect(nobody.data).toEqual([])
    const everything = JSON.stringify((await runCommand(context(), ['tokens', 'list'])).data)
    expect(everything).not.toContain(tokens.refresh_token)
    expect(everything).not.toContain(tokens.access_token)
    expect(byClient.text).toContain('alice (1001)')
  })

  it('takes an id that begins with a dash as the value of its option', async () => {
    for (const option of ['--client', '--family']) {
      const listed = await runCommand(context(), ['tokens', 'list', option, '-x3Q9'])
      expect(listed.data).toEqual([])
    }
    for (const args of [['--client'], ['--user', '--client', 'x']]) {
      await expect(runCommand(context(), ['tokens', 'list', ...args])).rejects.toThrow(
        /tokens list/
      )
    }
  })

  it("revoking a user's tokens makes /verify refuse them and stops their refresh", async () => {
    const first = await registerTestClient(server)
    const second = await registerTestClient(server)
    const a = await signIn(first)
    const b = await signIn(second)
    expect((await verify(a.access_token ?? '')).status).toBe(200)
    expect((await verify(b.access_token ?? '')).status).toBe(200)

    const revoked = await runCommand(context(), ['tokens', 'revoke', '--user', 'alice'])
    const ids = (revoked.data as { revoked: FamilyListing[] }).revoked.map((f) => f.client_id)
    expect(ids).toEqual(expect.arrayContaining([first.client_id, second.client_id]))
    afterRevocationCache()
    expect((await verify(a.access_token ?? '')).status).toBe(401)
    expect((await verify(b.access_token ?? '')).status).toBe(401)
    expect(await (await refresh(first, a.refresh_token ?? '')).json()).toMatchObject({
      error: 'invalid_grant',
    })
    expect((await runCommand(context(), ['tokens', 'list', '--user', 'alice'])).data).toEqual([])
    // Nothing left to revoke: a failure (exit 1) a script sees, as an unknown client is.
    for (const selector of [
      ['--user', 'alice'],
      ['--client', first.client_id],
    ]) {
      const none = await runCommand(context(), ['tokens', 'revoke', ...selector])
      expect(none.data).toEqual({ revoked: [], marked_only: [], pending_grants: [] })
      expect([none.text, none.exitCode]).toEqual([
        'no live token family matches: nothing revoked',
        1,
      ])
    }
    expect(revoked.exitCode).toBeUndefined()
  })

  it('revokes by client or by family, and nothing else', async () => {
    const kept = await registerTestClient(server)
    const byClient = await registerTestClient(server)
    const keptTokens = await signIn(kept)
    const clientTokens = await signIn(byClient)
    const familyTokens = await signIn(kept)

    await runCommand(context(), ['tokens', 'revoke', '--client', byClient.client_id])
    const familyId = String(decodeJwt(familyTokens.access_token ?? '').fam)
    const byFamily = await runCommand(context(), ['tokens', 'revoke', '--family', familyId])
    expect((byFamily.data as { revoked: FamilyListing[] }).revoked.map((f) => f.id)).toEqual([
      familyId,
    ])
    afterRevocationCache()
    expect((await verify(clientTokens.access_token ?? '')).status).toBe(401)
    expect((await verify(familyTokens.access_token ?? '')).status).toBe(401)
    expect((await verify(keptTokens.access_token ?? '')).status).toBe(200)
    expect((await refresh(kept, keptTokens.refresh_token ?? '')).status).toBe(200)
    await expect(runCommand(context(), ['tokens', 'revoke'])).rejects.toThrow(/--user/)
  })

  it('purges only index entries whose records expired, and counts them', async () => {
    await runCommand(context(), ['purge-expired'])
    const userId = `purge-${randomUUID()}`
    const subject = { id: userId, login: 'purged' }
    const family = (clientId: string, ttl: number) =>
      startRefreshFamily(
        server.store,
        server.clock,
        { familyId: randomUUID(), clientId, subject, scopes: ['mcp'], resources: [] },
        { refreshTokenTtl: ttl, accessTokenTtl: ttl }
      )
    const consent = (clientId: string, ttl: number) =>
      rememberConsent(
        server.store,
        server.clock,
        { userId, clientId, scopes: ['mcp'], resources: [], redirectUris: [] },
        ttl
      )
    await family('short-lived', 1)
    await family('short-lived', 1)
    await family('long-lived', 3600)
    await consent('short-lived', 1)
    await consent('long-lived', 3600)
    await sleep(1_200)
    // An index whose members all expired has expired with them; purging trims the others.
    expect(await server.store.setMembers(keys.clientFamilies('short-lived'))).toEqual([])

    const purged = await runCommand(context(), ['purge-expired'])
    expect(purged.data).toMatchObject({ family_index_entries: 2, consent_index_entries: 1 })
    expect(purged.text).toContain('removed 3 index entries')
    expect(await server.store.setMembers(keys.clientFamilies('short-lived'))).toEqual([])
    expect(await server.store.setMembers(keys.clientFamilies('long-lived'))).toHaveLength(1)
    expect(await server.store.setMembers(keys.userFamilies(userId))).toHaveLength(1)
    expect(await server.store.setMembers(keys.userConsents(userId))).toEqual(['long-lived'])
    // Live tokens of real sign-ins are untouched, and a second purge finds nothing.
    const again = await runCommand(context(), ['purge-expired'])
    expect(again.data).toMatchObject({ family_index_entries: 0, consent_index_entries: 0 })
  })
})
