import { randomUUID } from 'node:crypto'
import { afterAll, describe, expect, it } from 'vitest'
import { createTestRedisStore } from '../../../tests/support/stores.ts'
import { keys } from '../store/keys.ts'
import { revokeRefreshFamily } from './family-revocation.ts'
import { startRefreshFamily } from './refresh-tokens.ts'

/**
 * Whether a call revoked a family decides whether it is audited (and counted): exactly one of
 * many racing calls, whatever an earlier attempt left behind.
 */
describe('revoking a refresh family says who revoked it', () => {
  const store = createTestRedisStore()
  const clock = { now: () => Date.now() }
  const lifetimes = { refreshTokenTtl: 3600, accessTokenTtl: 600 }
  afterAll(async () => {
    await store.clear()
    await store.close()
  })
  const start = async () => {
    const familyId = randomUUID()
    const subject = { id: `user-${randomUUID()}`, login: 'revoked' }
    await startRefreshFamily(
      store,
      clock,
      { familyId, clientId: 'client', subject, scopes: ['mcp'], resources: [] },
      lifetimes
    )
    return { familyId, subject }
  }

  it('of twenty at once, the one that takes the record, with its user', async () => {
    const { familyId, subject } = await start()
    const results = await Promise.all(
      Array.from({ length: 20 }, () => revokeRefreshFamily(store, familyId, lifetimes))
    )
    const revokers = results.filter((result) => result.revokedNow)
    expect(revokers).toHaveLength(1)
    expect(revokers[0]?.family?.subject).toEqual(subject)
    expect(await store.get(keys.revokedFamily(familyId))).toBe('1')
  })

  it('the one that ends a family whose marker an earlier, failed attempt wrote', async () => {
    const { familyId } = await start()
    // The marker landed, the rest did not (a store that stalled, a reply lost and re-sent).
    await store.put(keys.revokedFamily(familyId), '1', { ttlSeconds: 4200 })
    const first = await revokeRefreshFamily(store, familyId, lifetimes)
    expect(first).toMatchObject({ revokedNow: true })
    expect(await store.get(keys.refreshFamily(familyId))).toBeNull()
    expect((await revokeRefreshFamily(store, familyId, lifetimes)).revokedNow).toBe(false)
  })

  it('a family with no record left (a grant not redeemed yet): the one that writes the marker', async () => {
    const familyId = randomUUID()
    const results = await Promise.all(
      Array.from({ length: 10 }, () => revokeRefreshFamily(store, familyId, lifetimes))
    )
    expect(results.filter((result) => result.revokedNow)).toHaveLength(1)
    expect(await store.ttl(keys.revokedFamily(familyId))).toBeGreaterThan(4190)
  })
})
