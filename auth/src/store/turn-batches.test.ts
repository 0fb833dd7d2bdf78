import { afterAll, beforeEach, describe, expect, it } from 'vitest'
import {
  createTestRedisStore,
  type FillableRedis,
  useFillableRedis,
} from '../../../tests/support/stores.ts'
import { type Store, StoreFull } from './store.ts'
import { batchedAppend, coalescedIncrement } from './turn-batches.ts'

/** The store, recording the calls that append to a stream or increment (each one command). */
function counting(store: Store) {
  const appends: number[] = []
  const increments: { key: string; by: number | undefined }[] = []
  const counted: Store = {
    ...store,
    appendToStream(key, entries, maxLength) {
      appends.push(entries.length)
      return store.appendToStream(key, entries, maxLength)
    },
    increment(key, ttlSeconds, by) {
      increments.push({ key, by })
      return store.increment(key, ttlSeconds, by)
    },
  }
  return { counted, appends, increments }
}

const held = async (store: Store, key: string) =>
  (await store.readStream(key, 10_000)).map((e) => e.entry).reverse()

describe('batched appends to a stream', () => {
  const store = createTestRedisStore()
  beforeEach(() => store.clear())
  afterAll(() => store.close())

  it('sends the entries of one turn in one call, in order, and answers once they are kept', async () => {
    const { counted, appends: calls } = counting(store)
    const append = batchedAppend(counted, 'log:batched', 1_000)
    const entries = Array.from({ length: 50 }, (_, i) => `e${i}`)
    await Promise.all(entries.map((entry) => append(entry)))
    expect(calls).toEqual([50])
    expect(await held(store, 'log:batched')).toEqual(entries)

    // A later turn is a batch of its own.
    await append('later')
    expect(calls).toEqual([50, 1])
    expect((await held(store, 'log:batched')).at(-1)).toBe('later')
  })

  it('keeps each batch to 256 entries, still in order', async () => {
    const { counted, appends: calls } = counting(store)
    const append = batchedAppend(counted, 'log:bounded', 10_000)
    const entries = Array.from({ length: 600 }, (_, i) => String(i))
    await Promise.all(entries.map((entry) => append(entry)))
    expect(calls).toEqual([256, 256, 88])
    expect(await held(store, 'log:bounded')).toEqual(entries)
  })
})

describe('coalesced increments', () => {
  const store = createTestRedisStore()
  beforeEach(() => store.clear())
  afterAll(() => store.close())

  it('counts the increments of one turn in one call, each answered the value it made', async () => {
    const { counted, increments } = counting(store)
    const increment = coalescedIncrement(counted)
    await store.increment('count:a', 60, 5)
    const [a, b] = await Promise.all([
      Promise.all(Array.from({ length: 10 }, () => increment('count:a', 60))),
      Promise.all(Array.from({ length: 3 }, () => increment('count:b', 60))),
    ])
    expect(a).toEqual([6, 7, 8, 9, 10, 11, 12, 13, 14, 15])
    expect(b).toEqual([1, 2, 3])
    expect(increments).toEqual([
      { key: 'count:a', by: 10 },
      { key: 'count:b', by: 3 },
    ])
    expect(await store.get('count:a')).toBe('15')
    expect(await store.ttl('count:a')).toBeGreaterThan(55)

    // A later turn is a call of its own, going on from there.
    expect(await increment('count:a', 60)).toBe(16)
    expect(increments).toHaveLength(3)
  })
})

describe('batched appends to a full store', () => {
  let redis: FillableRedis
  useFillableRedis((started) => {
    redis = started
  })

  it('refuses every caller of a refused batch, and writes the next batch once there is room', async () => {
    const append = batchedAppend(redis.store, 'log:full', 1_000)
    await redis.fill()
    const refused = await Promise.allSettled(['a', 'b', 'c'].map((entry) => append(entry)))
    expect(refused.map((r) => r.status === 'rejected' && r.reason instanceof StoreFull)).toEqual([
      true,
      true,
      true,
    ])
    await redis.makeRoom()
    await append('d')
    expect(await held(redis.store, 'log:full')).toEqual(['d'])
  })
})
