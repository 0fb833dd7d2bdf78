import { afterAll, describe, expect, it } from 'vitest'
import { createTestRedisStore } from '../../../tests/support/stores.ts'
import { savePendingAuthorization, takePendingAuthorization } from './pending-authorization.ts'

describe('pending authorizations (Redis)', () => {
  const store = createTestRedisStore()
  afterAll(async () => {
    await store.clear()
    await store.close()
  })

  const pending = {
    kind: 'device',
    deviceCodeHash: 'h',
    clientId: 'c',
    upstreamCodeVerifier: 'v',
  } as const

  it('keeps the state only as a hash, and gives the sign-in back once', async () => {
    const state = await savePendingAuthorization(store, pending)
    const stored: string[] = []
    for await (const key of store.scan('pending-authorization:')) stored.push(key)
    expect(stored.length).toBeGreaterThan(0)
    expect(stored.join(' ')).not.toContain(state)
    expect(await takePendingAuthorization(store, state)).toEqual(pending)
    expect(await takePendingAuthorization(store, state)).toBeNull()
  })
})
