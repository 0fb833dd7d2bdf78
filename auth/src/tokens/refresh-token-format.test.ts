import { randomUUID } from 'node:crypto'
import { afterAll, describe, expect, it } from 'vitest'
import { createTestRedisStore } from '../../../tests/support/stores.ts'
import { hashSecret, newSecret } from '../oauth/secrets.ts'
import { keys } from '../store/keys.ts'
import { rotateRefreshToken } from './refresh-rotation.ts'
import { parseRefreshToken } from './refresh-token-format.ts'
import { lookUpRefreshToken } from './refresh-token-lookup.ts'
import { type RefreshFamily, startRefreshFamily } from './refresh-tokens.ts'

/**
 * Refresh tokens name their family, so a rotated one is recognised without a marker; tokens of
 * the format before (random only, found by hash) keep working and keep revealing their reuse.
 */
describe('refresh token format', () => {
  const store = createTestRedisStore()
  const clock = { now: () => Date.now() }
  const ttl = { refreshTokenTtl: 3600, accessTokenTtl: 60 }
  const subject = { id: '1001', login: 'alice' }
  const options = { ttl, subject, grace: { clock, seconds: 0 } }
  afterAll(async () => {
    await store.clear()
    await store.close()
  })
  const start = (familyId = randomUUID()) =>
    startRefreshFamily(
      store,
      clock,
      { familyId, clientId: 'client', subject, scopes: ['mcp'], resources: [] },
      ttl
    )
  const live = async (token: string) => {
    const lookup = await lookUpRefreshToken(store, token)
    if (lookup.outcome !== 'live') throw new Error(`not live: ${lookup.outcome}`)
    return lookup.family
  }

  it('tells a rotated token by its family, and leaves no marker per rotation', async () => {
    const familyId = randomUUID()
    const first = await start(familyId)
    expect(parseRefreshToken(first)?.familyId).toBe(familyId)
    const second = await rotateRefreshToken(store, await live(first), first, options)
    expect(second).toBeTruthy()
    expect(await store.get(keys.rotatedRefreshToken(hashSecret(first)))).toBeNull()
    expect(await lookUpRefreshToken(store, first)).toEqual({ outcome: 'reused', familyId })
    expect((await live(second ?? '')).familyId).toBe(familyId)
  })

  it('revokes nothing for a token that names a family but was never issued to it', async () => {
    const familyId = randomUUID()
    const token = await start(familyId)
    const [, generation, random] = token.split('.')
    expect(generation).toBe('1')
    const forged = [
      `${familyId}.${newSecret()}.${'A'.repeat(22)}`,
      `${familyId}.1.${random}.x`,
      // A later generation is believed only with the family's MAC.
      `${familyId}.7.${random}.${'A'.repeat(22)}`,
      `${familyId}.0.${random}.${'A'.repeat(22)}`,
    ]
    for (const attempt of forged) {
      expect(await lookUpRefreshToken(store, attempt)).toEqual({ outcome: 'unknown' })
    }
    expect((await live(token)).familyId).toBe(familyId)
  })

  it('takes a token ahead of a restored family as live, once; behind, or without a restore, reused', async () => {
    const familyId = randomUUID()
    const first = await start(familyId)
    const second = (await rotateRefreshToken(store, await live(first), first, options)) ?? ''
    // What the store held after the first rotation, as a backup or an older AOF would.
    const saved = await store.getMany([
      keys.refreshFamily(familyId),
      keys.refreshToken(hashSecret(second)),
    ])
    const third = (await rotateRefreshToken(store, await live(second), second, options)) ?? ''
    expect(parseRefreshToken(third)?.generation).toBe(3)
    await store.delete(keys.refreshToken(hashSecret(third)))
    await store.put(keys.refreshFamily(familyId), saved[0] ?? '', { ttlSeconds: 3600 })
    await store.put(keys.refreshToken(hashSecret(second)), saved[1] ?? '', { ttlSeconds: 3600 })

    // Without a restore, a later generation is no proof: whoever holds a copy of the store holds
    // the family's MAC key, and could make one.
    expect(await lookUpRefreshToken(store, third)).toEqual({ outcome: 'reused', familyId })
    await store.put(keys.restoredFamily(familyId), '1', { ttlSeconds: 3600 })
    const ahead = await lookUpRefreshToken(store, third)
    expect(ahead).toMatchObject({ outcome: 'live', aheadOfStore: true })
    if (ahead.outcome !== 'live') throw new Error('not live')
    const fourth = await rotateRefreshToken(store, ahead.family, third, {
      ...options,
      aheadOfStore: true,
    })
    expect(parseRefreshToken(fourth ?? '')?.generation).toBe(4)
    expect((await live(fourth ?? '')).generation).toBe(4)
    // Once per restore: the mark went with the rotation, and the token the backup held as live.
    expect(await store.get(keys.restoredFamily(familyId))).toBeNull()
    expect(await store.get(keys.refreshToken(hashSecret(second)))).toBeNull()
    // The token the store had as live is behind now: a replay.
    for (const behind of [first, second, third]) {
      expect(await lookUpRefreshToken(store, behind)).toEqual({ outcome: 'reused', familyId })
    }
  })

  it('keeps a token of the format before refreshing, and catches its reuse by its marker', async () => {
    // As stored before tokens named their family: random token, no family key.
    const familyId = randomUUID()
    const earlier = newSecret()
    const family: RefreshFamily = {
      familyId,
      clientId: 'client',
      subject,
      scopes: ['mcp'],
      resources: [],
      createdAt: 1,
      currentTokenHash: hashSecret(earlier),
    }
    await store.put(keys.refreshToken(hashSecret(earlier)), familyId, { ttlSeconds: 3600 })
    await store.put(keys.refreshFamily(familyId), JSON.stringify(family), { ttlSeconds: 3600 })
    const next = await rotateRefreshToken(store, await live(earlier), earlier, options)
    expect(parseRefreshToken(next ?? '')?.familyId).toBe(familyId)
    expect(await lookUpRefreshToken(store, earlier)).toEqual({ outcome: 'reused', familyId })
    // Its successor names the family, so its own rotation needs no marker.
    const third = await rotateRefreshToken(store, await live(next ?? ''), next ?? '', options)
    expect(await lookUpRefreshToken(store, next ?? '')).toEqual({ outcome: 'reused', familyId })
    expect(await store.get(keys.rotatedRefreshToken(hashSecret(next ?? '')))).toBeNull()
    expect((await live(third ?? '')).tokenKey).toBeTruthy()
  })
})
