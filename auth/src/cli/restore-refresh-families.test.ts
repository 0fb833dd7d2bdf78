import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decodeJwt } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TestAuthServer } from '../../../tests/support/auth-app.ts'
import {
  clientRequest,
  exchangeCode,
  newPkce,
  obtainCode,
  type RegisteredClient,
  registerTestClient,
  tokenRequest,
  useFlowServer,
} from '../../../tests/support/oauth-flow.ts'
import { restartedGateway } from '../../../tests/support/restarted-gateway.ts'
import { keys } from '../store/keys.ts'
import { runCommand } from './run-command.ts'

/**
 * Refresh families across a backup and a restore: a client that refreshed after the backup keeps
 * its newest token (believed once per restored family), the tokens it replaced are replays, and
 * a restore writes what a refresh meeting it halfway could otherwise take for a replay in an
 * order where it cannot.
 */
describe('refresh families restored from a backup', () => {
  let server: TestAuthServer
  let dir: string
  useFlowServer({ ALLOWED_GITHUB_USERS: 'alice' }, (fixture) => {
    server = fixture.server
  })
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gateway-restore-'))
  })
  afterAll(() => rm(dir, { recursive: true, force: true }))
  const context = () => ({ config: server.config, store: server.store, clock: server.clock })
  const restartGateway = () => restartedGateway(server)

  const signIn = async (client: RegisteredClient) => {
    const pkce = newPkce()
    const { code } = await obtainCode(server, client, pkce)
    const response = await exchangeCode(server, client, code, pkce)
    return (await response.json()) as Record<string, string>
  }

  it('takes a refresh token rotated after the backup as the newest once restored; older ones are replays', async () => {
    const client = await registerTestClient(server, { client_name: 'Rotated after backup' })
    const first = await signIn(client)
    const file = join(dir, 'before-rotation.json')
    await runCommand(context(), ['backup', file])
    // The client keeps refreshing after the backup: the store's rotations are then lost with it.
    const refreshOnce = async (refreshToken: string) =>
      (await (
        await tokenRequest(server, client, {
          grant_type: 'refresh_token',
          refresh_token: refreshToken,
        })
      ).json()) as Record<string, string>
    const second = await refreshOnce(first.refresh_token ?? '')
    const third = await refreshOnce(second.refresh_token ?? '')
    // Past the reuse grace, as a restore is.
    server.clock.advance(31_000)

    await server.store.clear()
    await runCommand(context(), ['restore', file])
    const gateway = await restartGateway()
    const newest = await gateway.refresh(client, third.refresh_token ?? '')
    expect(newest.status, await newest.clone().text()).toBe(200)
    const next = (await newest.json()) as Record<string, string>
    expect((await gateway.verify(next.access_token ?? '')).status).toBe(200)
    // The one the backup held as live, and one between, are now behind: replays, which revoke.
    expect((await gateway.refresh(client, second.refresh_token ?? '')).status).toBe(400)
    server.clock.advance(1_001)
    expect((await gateway.verify(next.access_token ?? '')).status).toBe(401)
  })

  it('lists no family revoked since the backup, by family or by deleting its client, once restored into the live store', async () => {
    const kept = await registerTestClient(server, { client_name: 'Kept' })
    const deleted = await registerTestClient(server, { client_name: 'Deleted after backup' })
    const withFamily = async (client: RegisteredClient) => {
      const tokens = await signIn(client)
      return { tokens, family: decodeJwt(tokens.access_token ?? '').fam as string }
    }
    const live = await withFamily(kept)
    const revoked = await withFamily(kept)
    const ofDeleted = await withFamily(deleted)
    const file = join(dir, 'before-revocations.json')
    await runCommand(context(), ['backup', file])
    await runCommand(context(), ['tokens', 'revoke', '--family', revoked.family])
    await runCommand(context(), ['clients', 'delete', deleted.client_id])
    // The deleted client's marker alone refuses its tokens (/verify reads it), so it alone is
    // enough to leave the family out.
    await server.store.delete(keys.revokedFamily(ofDeleted.family))

    await runCommand(context(), ['restore', file])
    const listed = await runCommand(context(), ['tokens', 'list'])
    const ids = (listed.data as { id: string }[]).map((family) => family.id)
    expect(ids).toContain(live.family)
    expect(ids).not.toContain(revoked.family)
    expect(ids).not.toContain(ofDeleted.family)
    // As the gateway has it: the restored record refreshes nothing.
    const refreshed = await tokenRequest(server, kept, {
      grant_type: 'refresh_token',
      refresh_token: revoked.tokens.refresh_token ?? '',
    })
    expect(await refreshed.json()).toMatchObject({ error: 'invalid_grant' })
  })

  it('marks the families it writes, and no family the store holds another version of', async () => {
    const client = await registerTestClient(server, { client_name: 'Marked on restore' })
    const first = await signIn(client)
    const second = await signIn(client)
    const file = join(dir, 'marks.json')
    await runCommand(context(), ['backup', file])
    const familyOf = (tokens: Record<string, string>) =>
      decodeJwt(tokens.access_token ?? '').fam as string
    // The first family goes (as on a lost store); the second refreshes, so the store's differs.
    await server.store.delete(keys.refreshFamily(familyOf(first)))
    await tokenRequest(server, client, {
      grant_type: 'refresh_token',
      refresh_token: second.refresh_token ?? '',
    })
    const restored = await runCommand(context(), ['restore', file])
    expect((restored.data as { conflicts: string[] }).conflicts).toContain(
      keys.refreshFamily(familyOf(second))
    )
    expect(await server.store.get(keys.restoredFamily(familyOf(first)))).toBe('1')
    expect(await server.store.get(keys.restoredFamily(familyOf(second)))).toBeNull()
  })

  it('writes revocations, then refresh tokens, then each family after its mark', async () => {
    const client = await registerTestClient(server, { client_name: 'Restored in order' })
    const live = await signIn(client)
    const revoked = await signIn(client)
    await clientRequest(server, client, '/revoke', { token: revoked.refresh_token ?? '' })
    const file = join(dir, 'order.json')
    await runCommand(context(), ['backup', file])
    await server.store.clear()
    const written: string[] = []
    const store = new Proxy(server.store, {
      get(target, name, receiver) {
        if (name !== 'put') return Reflect.get(target, name, receiver)
        return (key: string, ...rest: unknown[]) => {
          written.push(key)
          return (target.put as (...args: unknown[]) => Promise<boolean>)(key, ...rest)
        }
      },
    })
    await runCommand({ ...context(), store }, ['restore', file])
    const family = keys.refreshFamily(decodeJwt(live.access_token ?? '').fam as string)
    const at = (prefix: string) => written.findIndex((key) => key.startsWith(prefix))
    const lastOf = (prefix: string) => written.findLastIndex((key) => key.startsWith(prefix))
    expect(lastOf('revoked:')).toBeLessThan(at('refresh:'))
    expect(lastOf('refresh:')).toBeLessThan(at('family:'))
    expect(written.indexOf(family.replace('family:', 'family-restored:'))).toBe(
      written.indexOf(family) - 1
    )
  })
})
