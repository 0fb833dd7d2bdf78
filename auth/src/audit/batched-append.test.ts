import { afterAll, beforeEach, describe, expect, it } from 'vitest'
import {
  createTestRedisStore,
  type FillableRedis,
  useFillableRedis,
} from '../../../tests/support/stores.ts'
import { type Store, StoreFull } from '../store/store.ts'
import { batchedAppend } from './batched-append.ts'

/** The store, counting the calls that append to a stream (each is one command to Redis). */
function countingAppends(store: Store) {
  const calls: number[] = []
  const counted: Store = {
    ...store,
    appendToStream(key, entries, maxLength) {
      calls.push(entries.length)
      return store.appendToStream(key, entries, maxLength)
    },
  }
  return { counted, calls }
}

const held = async (store: Store, key: string) =>
  (await store.readStream(key, 10_000)).map((e) => e.entry).reverse()

describe('batched appends to a stream', () => {
  const store = createTestRedisStore()
  beforeEach(() => store.clear())
  afterAll(() => store.close())

  it('sends the entries of one turn in one call, in order, and answers once they are kept', async () => {
    const { counted, calls } = countingAppends(store)
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
    const { counted, calls } = countingAppends(store)
    const append = batchedAppend(counted, 'log:bounded', 10_000)
    const entries = Array.from({ length: 600 }, (_, i) => String(i))
    await Promise.all(entries.map((entry) => append(entry)))
    expect(calls).toEqual([256, 256, 88])
    expect(await held(store, 'log:bounded')).toEqual(entries)
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
