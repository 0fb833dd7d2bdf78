import { afterAll, beforeEach, describe, expect, it } from 'vitest'
import { createTestRedisStore } from '../../../tests/support/stores.ts'
import { keys } from '../store/keys.ts'
import { recentChecks } from './recent-checks.ts'

const ALICE = { id: '1001', login: 'alice', orgs: ['acme'] }
const INTERVAL = 300

describe('recent re-checks of users, in the store and believed by each replica', () => {
  const store = createTestRedisStore()
  let now = 1_800_000_000_000
  const clock = { now: () => now }
  beforeEach(() => store.clear())
  afterAll(async () => {
    await store.clear()
    await store.close()
  })

  it('one replica finds the check another recorded, until the interval is over', async () => {
    const [here, there] = [recentChecks(store, clock), recentChecks(store, clock)]
    await there.record(ALICE, INTERVAL)
    expect(await here.find(ALICE.id, INTERVAL)).toEqual(ALICE)
    now += (INTERVAL - 1) * 1000
    expect(await here.find(ALICE.id, INTERVAL)).toEqual(ALICE)
    now += 1000
    expect(await here.find(ALICE.id, INTERVAL)).toBeNull()
    expect(await there.find(ALICE.id, INTERVAL)).toBeNull()
  })

  it('believes a check it has seen without reading the store, never past the interval', async () => {
    const replica = recentChecks(store, clock)
    await replica.record(ALICE, INTERVAL)
    // Gone from the store (another replica refused the user): still believed here, for the
    // rest of the interval of the check it copies, and not a moment longer.
    await store.delete(keys.recentCheck(ALICE.id))
    now += 60_000
    expect(await replica.find(ALICE.id, INTERVAL)).toEqual(ALICE)
    now += (INTERVAL - 60) * 1000
    expect(await replica.find(ALICE.id, INTERVAL)).toBeNull()
  })

  it('a belief that has run out gives way to a newer check in the store', async () => {
    const [here, there] = [recentChecks(store, clock), recentChecks(store, clock)]
    await here.record(ALICE, INTERVAL)
    now += INTERVAL * 1000
    const rechecked = { ...ALICE, orgs: ['acme', 'globex'] }
    await there.record(rechecked, INTERVAL)
    expect(await here.find(ALICE.id, INTERVAL)).toEqual(rechecked)
  })

  it('forgets at once where the refusal happened, here and in the store', async () => {
    const [here, there] = [recentChecks(store, clock), recentChecks(store, clock)]
    await here.record(ALICE, INTERVAL)
    await here.forget(ALICE.id)
    expect(await here.find(ALICE.id, INTERVAL)).toBeNull()
    expect(await there.find(ALICE.id, INTERVAL)).toBeNull()
    expect(await store.get(keys.recentCheck(ALICE.id))).toBeNull()
  })

  it('keeps nothing with an interval of 0', async () => {
    const replica = recentChecks(store, clock)
    await replica.record(ALICE, 0)
    expect(await replica.find(ALICE.id, 0)).toBeNull()
    expect(await store.get(keys.recentCheck(ALICE.id))).toBeNull()
  })
})
