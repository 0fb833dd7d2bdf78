import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeEach, describe, expect, it } from 'vitest'
import { createTestRedisStore } from '../../../tests/support/stores.ts'
import { hashSecret } from '../oauth/secrets.ts'
import {
  decideDeviceAuthorization,
  findByDeviceCodeHash,
  redeemDeviceAuthorization,
  startDeviceAuthorization,
  wasRedeemed,
} from './device-authorization.ts'

const alice = { id: '1001', login: 'alice' }
const request = { clientId: 'c-1', scopes: ['mcp'], resources: [] }

/**
 * The user's answer in a device code's last second, on a real Redis (whose TTL reads back whole
 * seconds, rounded): the answer neither outlives the code nor is refused while the code lives.
 */
describe('a device code answered in its last second', () => {
  const store = createTestRedisStore()
  beforeEach(() => store.clear())
  afterAll(() => store.close())

  /** A device code of `seconds`, and a wait until `leftMs` of its lifetime are left. */
  const startAndWait = async (seconds: number, leftMs: number) => {
    const started = performance.now()
    const { deviceCode } = await startDeviceAuthorization(store, request, seconds)
    await sleep(Math.max(0, started + seconds * 1000 - leftMs - performance.now()))
    return { deviceCodeHash: hashSecret(deviceCode), endsAt: started + seconds * 1000 }
  }

  it('keeps an approval with 0.7 s left no longer than the code', async () => {
    // 0.7 s left reads back as 1 s: written again for that second, it would outlive the code.
    const { deviceCodeHash, endsAt } = await startAndWait(2, 700)
    expect(
      await decideDeviceAuthorization(store, deviceCodeHash, { status: 'approved', subject: alice })
    ).toBe(true)
    expect((await findByDeviceCodeHash(store, deviceCodeHash))?.status).toBe('approved')
    await sleep(Math.max(0, endsAt + 150 - performance.now()))
    expect(await findByDeviceCodeHash(store, deviceCodeHash)).toBeNull()
  })

  it('takes an answer with 0.3 s left, which reads back as no time at all', async () => {
    const { deviceCodeHash } = await startAndWait(2, 300)
    expect(await decideDeviceAuthorization(store, deviceCodeHash, { status: 'denied' })).toBe(true)
    expect((await findByDeviceCodeHash(store, deviceCodeHash))?.status).toBe('denied')
  })

  it('tells a code taken by another poll from one that lapsed before the take', async () => {
    const approve = (deviceCodeHash: string) =>
      decideDeviceAuthorization(store, deviceCodeHash, { status: 'approved', subject: alice })

    const taken = await startAndWait(60, 60_000)
    await approve(taken.deviceCodeHash)
    expect((await redeemDeviceAuthorization(store, taken.deviceCodeHash, 60))?.status).toBe(
      'approved'
    )
    expect(await redeemDeviceAuthorization(store, taken.deviceCodeHash, 60)).toBeNull()
    expect(await wasRedeemed(store, taken.deviceCodeHash)).toBe(true)

    // Read as approved by a poll, then gone by the time that poll takes it: expired, not used.
    const lapsed = await startAndWait(1, 1_000)
    await approve(lapsed.deviceCodeHash)
    await sleep(Math.max(0, lapsed.endsAt + 100 - performance.now()))
    expect(await redeemDeviceAuthorization(store, lapsed.deviceCodeHash, 60)).toBeNull()
    expect(await wasRedeemed(store, lapsed.deviceCodeHash)).toBe(false)
  })
})
