import { randomUUID } from 'node:crypto'
import { afterAll, describe, expect, it } from 'vitest'
import { createTestRedisStore } from '../../../tests/support/stores.ts'
import { rememberConsent } from '../authorization/consent.ts'
import { keys } from '../store/keys.ts'
import { rotateRefreshToken } from './refresh-rotation.ts'
import { startRefreshFamily } from './refresh-tokens.ts'

/**
 * The index sets (a user's and a client's refresh families, a user's consents) expire by
 * themselves: each add gives the set at least its member's lifetime, in the same atomic batch.
 */
describe('index sets outlive their members and no more', () => {
  const store = createTestRedisStore()
  const clock = { now: () => Date.now() }
  afterAll(async () => {
    await store.clear()
    await store.close()
  })
  const subject = () => ({ id: `user-${randomUUID()}`, login: 'indexed' })
  const lifetimes = (seconds: number) => ({ refreshTokenTtl: seconds, accessTokenTtl: 60 })
  const start = (user: { id: string; login: string }, clientId: string, seconds: number) =>
    startRefreshFamily(
      store,
      clock,
      { familyId: randomUUID(), clientId, subject: user, scopes: ['mcp'], resources: [] },
      lifetimes(seconds)
    )

  it('gives the family indexes the family lifetime, lengthened by later families', async () => {
    const user = subject()
    const clientId = `client-${randomUUID()}`
    await start(user, clientId, 100)
    expect(await store.ttl(keys.userFamilies(user.id))).toBeGreaterThan(98)
    expect(await store.ttl(keys.clientFamilies(clientId))).toBeGreaterThan(98)
    await start(user, clientId, 1000)
    await start(user, clientId, 10)
    expect(await store.ttl(keys.userFamilies(user.id))).toBeGreaterThan(998)
    expect(await store.ttl(keys.clientFamilies(clientId))).toBeGreaterThan(998)
    expect(await store.setMembers(keys.userFamilies(user.id))).toHaveLength(3)
  })

  it('lengthens them when a refresh gives the family a new lifetime', async () => {
    const user = subject()
    const clientId = `client-${randomUUID()}`
    const familyId = randomUUID()
    const token = await startRefreshFamily(
      store,
      clock,
      { familyId, clientId, subject: user, scopes: ['mcp'], resources: [] },
      lifetimes(100)
    )
    await store.expire(keys.userFamilies(user.id), 50)
    await store.expire(keys.clientFamilies(clientId), 50)
    const family = JSON.parse((await store.get(keys.refreshFamily(familyId))) ?? 'null')
    const next = await rotateRefreshToken(store, family, token, {
      ttl: lifetimes(100),
      subject: user,
      grace: { seconds: 0, clock },
    })
    expect(next).not.toBeNull()
    expect(await store.ttl(keys.userFamilies(user.id))).toBeGreaterThan(98)
    expect(await store.ttl(keys.clientFamilies(clientId))).toBeGreaterThan(98)
  })

  it('lets an index go once all its members could have expired', async () => {
    const user = subject()
    const clientId = `client-${randomUUID()}`
    await start(user, clientId, 1)
    await rememberConsent(
      store,
      clock,
      { userId: user.id, clientId, scopes: ['mcp'], resources: [], redirectUris: [] },
      1
    )
    expect(await store.ttl(keys.userConsents(user.id))).toBe(1)
    await new Promise((resolve) => setTimeout(resolve, 1100))
    expect(await store.setMembers(keys.userFamilies(user.id))).toEqual([])
    expect(await store.setMembers(keys.clientFamilies(clientId))).toEqual([])
    expect(await store.setMembers(keys.userConsents(user.id))).toEqual([])
  })
})
