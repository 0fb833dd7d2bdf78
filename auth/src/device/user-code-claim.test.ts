import { afterAll, beforeEach, describe, expect, it } from 'vitest'
import { createTestRedisStore } from '../../../tests/support/stores.ts'
import { TemporarilyUnavailable } from '../errors.ts'
import { hashSecret } from '../oauth/secrets.ts'
import { keys } from '../store/keys.ts'
import { findByUserCode, startDeviceAuthorization } from './device-authorization.ts'

const request = { clientId: 'c-1', scopes: ['mcp'], resources: [] }

/**
 * A user code names one live device authorization. It is claimed in the same step as the record
 * it names (real Redis), so a code already taken is drawn again, and no code ever names nothing.
 */
describe('claiming a user code', () => {
  const store = createTestRedisStore()
  beforeEach(() => store.clear())
  afterAll(() => store.close())

  const storedKeys = async () => {
    const found: string[] = []
    for await (const key of store.scan('')) found.push(key)
    return found.sort()
  }
  /** Draws the given codes in turn. */
  const draws = (...codes: string[]) => {
    let next = 0
    return () => codes[next++ % codes.length] ?? ''
  }

  it('draws again when the code is taken, leaving the first holder untouched', async () => {
    const first = await startDeviceAuthorization(store, request, 60, draws('BCDFGHJK'))
    const second = await startDeviceAuthorization(store, request, 60, draws('BCDFGHJK', 'LMNPQRST'))
    expect(second.userCode).toBe('LMNPQRST')
    const held = await findByUserCode(store, 'BCDFGHJK')
    expect(held !== 'answered' && held?.deviceCodeHash).toBe(hashSecret(first.deviceCode))
    const claimed = await findByUserCode(store, 'LMNPQRST')
    expect(claimed !== 'answered' && claimed?.deviceCodeHash).toBe(hashSecret(second.deviceCode))
  })

  it('answers 503 temporarily_unavailable when five draws are all taken, writing nothing', async () => {
    await startDeviceAuthorization(store, request, 60, draws('BCDFGHJK'))
    const before = await storedKeys()
    const failed = startDeviceAuthorization(store, request, 60, draws('BCDFGHJK'))
    await expect(failed).rejects.toBeInstanceOf(TemporarilyUnavailable)
    await expect(failed).rejects.toMatchObject({ status: 503 })
    expect(await storedKeys()).toEqual(before)
    expect(await store.get(keys.userCode('BCDFGHJK'))).not.toBeNull()
  })
})
