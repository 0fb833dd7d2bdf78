import { afterAll, beforeEach, describe, expect, it } from 'vitest'
import { createTestRedisStore } from '../../../tests/support/stores.ts'
import { createMemoryStore } from './memory-store.ts'
import type { Store } from './store.ts'

/** One contract, two implementations: the memory store must behave like Redis. */
const clock = { now: () => Date.now() }
const implementations: [string, () => Store & { clear?(): Promise<void> }][] = [
  ['redis', createTestRedisStore],
  ['memory', () => createMemoryStore(clock)],
]

describe.each(implementations)('%s store', (_name, create) => {
  const store = create()
  beforeEach(async () => {
    await store.clear?.()
  })
  afterAll(async () => {
    await store.clear?.()
    await store.close()
  })

  it('puts, gets and deletes', async () => {
    expect(await store.put('a', '1')).toBe(true)
    expect(await store.get('a')).toBe('1')
    expect(await store.getMany(['a', 'missing'])).toEqual(['1', null])
    expect(await store.delete('a', 'missing')).toBe(1)
    expect(await store.get('a')).toBeNull()
  })

  it('writes only-if-absent once', async () => {
    expect(await store.put('once', 'first', { onlyIfAbsent: true })).toBe(true)
    expect(await store.put('once', 'second', { onlyIfAbsent: true })).toBe(false)
    expect(await store.get('once')).toBe('first')
  })

  it('replaces only an existing key, keeping its remaining lifetime', async () => {
    expect(await store.replace('absent', 'x')).toBe(false)
    expect(await store.get('absent')).toBeNull()

    await store.put('lasting', 'old', { ttlSeconds: 100 })
    expect(await store.replace('lasting', 'new')).toBe(true)
    expect(await store.get('lasting')).toBe('new')
    expect(await store.ttl('lasting')).toBeGreaterThan(90)

    await store.put('forever', 'old')
    expect(await store.replace('forever', 'new')).toBe(true)
    expect(await store.ttl('forever')).toBeNull()
    expect(await store.get('forever')).toBe('new')

    await store.put('gone', 'old', { ttlSeconds: 1 })
    await store.delete('gone')
    expect(await store.replace('gone', 'new')).toBe(false)
    expect(await store.get('gone')).toBeNull()
  })

  it('gives a taken value to exactly one of many concurrent takers', async () => {
    await store.put('code', 'value')
    const results = await Promise.all(Array.from({ length: 20 }, () => store.take('code')))
    expect(results.filter((r) => r === 'value')).toHaveLength(1)
    expect(await store.get('code')).toBeNull()
  })

  it('expires keys after their TTL', async () => {
    // Redis rounds TTL to the nearest second: a stall after the write could read 0 on a 1 s key.
    await store.put('longer', 'x', { ttlSeconds: 10 })
    const ttl = await store.ttl('longer')
    expect(ttl).toBeGreaterThan(0)
    expect(ttl).toBeLessThanOrEqual(10)
    await store.put('short', 'x', { ttlSeconds: 1 })
    expect(await store.ttl('missing')).toBeNull()
    await new Promise((resolve) => setTimeout(resolve, 1100))
    expect(await store.get('short')).toBeNull()
  })

  it('writes a value in a batch that keeps the key’s lifetime', async () => {
    await store.put('kept', 'old', { ttlSeconds: 1 })
    await store.batch([{ op: 'put', key: 'kept', value: 'new', keepTtl: true }], {
      ifUnchanged: { key: 'kept', value: 'old' },
    })
    expect(await store.get('kept')).toBe('new')
    await new Promise((resolve) => setTimeout(resolve, 1100))
    expect(await store.get('kept')).toBeNull()
  })

  it('counts in a window that keeps its first TTL', async () => {
    expect(await store.increment('counter', 60)).toBe(1)
    expect(await store.increment('counter', 60)).toBe(2)
    expect(await store.ttl('counter')).toBeGreaterThan(58)
  })

  it('gives an existing key a new lifetime, or none, and leaves its value alone', async () => {
    await store.put('renewed', 'x', { ttlSeconds: 10 })
    expect(await store.expire('renewed', 100)).toBe(true)
    expect(await store.ttl('renewed')).toBeGreaterThan(90)
    expect(await store.expire('renewed', 0)).toBe(true)
    expect(await store.ttl('renewed')).toBeNull()
    expect(await store.expire('renewed', 0)).toBe(true)
    expect(await store.get('renewed')).toBe('x')
    expect(await store.expire('missing', 10)).toBe(false)
    expect(await store.expire('missing', 0)).toBe(false)
  })

  it('keeps sets', async () => {
    await store.addToSet('set', 'a')
    await store.addToSet('set', 'b')
    await store.removeFromSet('set', 'a')
    expect(await store.setMembers('set')).toEqual(['b'])
    expect(await store.setMembers('none')).toEqual([])
  })

  it('gives a set the lifetime of its longest-lived member, in batches and with a take', async () => {
    await store.batch([{ op: 'addToSet', key: 'indexed', member: 'a', ttlSeconds: 100 }])
    expect(await store.ttl('indexed')).toBeGreaterThan(98)
    await store.batch([{ op: 'addToSet', key: 'indexed', member: 'b', ttlSeconds: 10 }])
    expect(await store.ttl('indexed')).toBeGreaterThan(98)
    await store.batch([{ op: 'addToSet', key: 'indexed', member: 'a', ttlSeconds: 500 }])
    expect(await store.ttl('indexed')).toBeGreaterThan(498)
    expect((await store.setMembers('indexed')).sort()).toEqual(['a', 'b'])
    await store.batch([{ op: 'addToSet', key: 'indexed', member: 'c' }])
    expect(await store.ttl('indexed')).toBeGreaterThan(498)
    await store.batch([{ op: 'addToSet', key: 'indexed', member: 'forever', ttlSeconds: 0 }])
    expect(await store.ttl('indexed')).toBeNull()
    expect(await store.setMembers('indexed')).toHaveLength(4)

    await store.addToSet('older-set', 'a')
    await store.put('taken-token', 'x')
    await store.takeAndWrite('taken-token', [
      { op: 'addToSet', key: 'older-set', member: 'b', ttlSeconds: 200 },
    ])
    expect(await store.ttl('older-set')).toBeGreaterThan(198)

    await store.batch([{ op: 'addToSet', key: 'short-set', member: 'a', ttlSeconds: 1 }])
    await new Promise((resolve) => setTimeout(resolve, 1100))
    expect(await store.setMembers('short-set')).toEqual([])
  })

  it('applies a batch as a whole', async () => {
    await store.put('old', 'x')
    await store.batch([
      { op: 'put', key: 'new', value: 'y', ttlSeconds: 30 },
      { op: 'delete', key: 'old' },
      { op: 'addToSet', key: 'index', member: 'new' },
    ])
    expect(await store.getMany(['new', 'old'])).toEqual(['y', null])
    expect(await store.setMembers('index')).toEqual(['new'])
  })

  it('applies a guarded batch only while its guard key is absent', async () => {
    const writes = [
      { op: 'put', key: 'record', value: 'v' },
      { op: 'addToSet', key: 'record-index', member: 'record' },
    ] as const
    expect(await store.batch(writes, { unlessExists: 'revoked' })).toBe(true)
    expect(await store.get('record')).toBe('v')
    await store.delete('record', 'record-index')
    await store.put('revoked', '1')
    expect(await store.batch(writes, { unlessExists: 'revoked' })).toBe(false)
    expect(await store.getMany(['record', 'record-index'])).toEqual([null, null])
    expect(await store.setMembers('record-index')).toEqual([])
  })

  it('applies a compare-and-set batch for exactly one of many callers that read the same value', async () => {
    const swap = (value: string, i: number) =>
      store.batch(
        [
          { op: 'put', key: 'decision', value: `decided by ${i}`, ttlSeconds: 30 },
          { op: 'addToSet', key: 'deciders', member: String(i) },
        ],
        { ifUnchanged: { key: 'decision', value } }
      )
    expect(await swap('pending', -1)).toBe(false)
    expect(await store.get('decision')).toBeNull()

    await store.put('decision', 'pending')
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => swap('pending', i)))
    const winners = results.flatMap((written, i) => (written ? [i] : []))
    expect(winners).toHaveLength(1)
    expect(await store.get('decision')).toBe(`decided by ${winners[0]}`)
    expect(await store.setMembers('deciders')).toEqual([String(winners[0])])
  })

  it('paces requests: one on time per interval, each too early one lengthening it', async () => {
    const pacing = { intervalSeconds: 5, backoffSeconds: 5, ttlSeconds: 60 }
    const at = 1_795_465_158_123
    expect(await store.pace('pacer', at, pacing)).toBe(false)
    expect(JSON.parse((await store.get('pacer')) ?? '')).toEqual({ at, interval: 5 })
    expect(await store.pace('pacer', at + 4_999, pacing)).toBe(true)
    expect(JSON.parse((await store.get('pacer')) ?? '')).toEqual({ at: at + 4_999, interval: 10 })
    expect(await store.pace('pacer', at + 14_999, pacing)).toBe(false)
    expect(await store.ttl('pacer')).toBeGreaterThan(58)

    const polls = await Promise.all(
      Array.from({ length: 50 }, () => store.pace('concurrent', at, pacing))
    )
    expect(polls.filter((tooSoon) => !tooSoon)).toHaveLength(1)
    expect(JSON.parse((await store.get('concurrent')) ?? '')).toEqual({ at, interval: 5 + 49 * 5 })

    await store.put('unreadable', 'not json')
    expect(await store.pace('unreadable', at, pacing)).toBe(false)
  })

  it('takes a key and writes with it, all or nothing, for exactly one of many callers', async () => {
    expect(await store.takeAndWrite('absent', [{ op: 'put', key: 'never', value: 'x' }])).toBeNull()
    expect(await store.get('never')).toBeNull()

    await store.put('token', 'family')
    await store.put('stale', 'x')
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        store.takeAndWrite('token', [
          { op: 'put', key: 'successor', value: String(i), ttlSeconds: 30 },
          { op: 'delete', key: 'stale' },
          { op: 'addToSet', key: 'winners', member: String(i) },
        ])
      )
    )
    const winners = results.flatMap((result, i) => (result === 'family' ? [i] : []))
    expect(winners).toHaveLength(1)
    expect(await store.getMany(['token', 'stale', 'successor'])).toEqual([
      null,
      null,
      String(winners[0]),
    ])
    expect(await store.ttl('successor')).toBeGreaterThan(28)
    expect(await store.setMembers('winners')).toEqual([String(winners[0])])
  })

  it('marks and takes in one step: of many callers, one takes, or with nothing to take one marks', async () => {
    const marker = (key: string, ttlSeconds = 60) => ({ key, value: '1', ttlSeconds })
    await store.put('record', 'family')
    await store.put('old-marker', 'earlier', { ttlSeconds: 5 })
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        store.markAndTake([marker('old-marker'), marker('occasion')], 'record')
      )
    )
    const taking = results.filter((result) => result.taken !== null)
    expect(taking).toEqual([{ taken: 'family', marked: [false, true] }])
    expect(results.filter((result) => result.marked[1])).toHaveLength(1)
    // An existing marker keeps its value and lifetime; a new one gets its own.
    expect(await store.getMany(['record', 'old-marker', 'occasion'])).toEqual([
      null,
      'earlier',
      '1',
    ])
    expect(await store.ttl('old-marker')).toBeLessThanOrEqual(5)
    expect(await store.ttl('occasion')).toBeGreaterThan(58)

    const marking = await Promise.all(
      Array.from({ length: 20 }, () => store.markAndTake([marker('fresh')], 'nothing'))
    )
    expect(marking.filter((result) => result.marked[0])).toHaveLength(1)
    expect(marking.every((result) => result.taken === null)).toBe(true)
  })

  it('scans by prefix, treating glob characters literally', async () => {
    await store.put('client:a', '1')
    await store.put('client:b', '2')
    await store.put('clientele', '3')
    await store.put('c*:x', '4')
    const found: string[] = []
    for await (const key of store.scan('client:')) found.push(key)
    expect(found.sort()).toEqual(['client:a', 'client:b'])
    const star: string[] = []
    for await (const key of store.scan('c*')) star.push(key)
    expect(star).toEqual(['c*:x'])
  })

  it('appends to a stream and reads it newest first, page by page', async () => {
    await store.appendToStream('log:pages', ['e0', 'e1', 'e2'], 100)
    for (let i = 3; i < 5; i++) await store.appendToStream('log:pages', [`e${i}`], 100)
    const first = await store.readStream('log:pages', 2)
    expect(first.map((e) => e.entry)).toEqual(['e4', 'e3'])
    const next = await store.readStream('log:pages', 10, first.at(-1)?.id)
    expect(next.map((e) => e.entry)).toEqual(['e2', 'e1', 'e0'])
    expect(await store.readStream('log:pages', 10, next.at(-1)?.id)).toEqual([])
    expect(await store.readStream('log:absent', 10)).toEqual([])
  })

  it('keeps a stream near its cap, dropping the oldest entries', async () => {
    // One connection keeps the order of commands sent at once.
    await Promise.all(
      Array.from({ length: 1_000 }, (_, i) => store.appendToStream('log:capped', [String(i)], 300))
    )
    const held = await store.readStream('log:capped', 10_000)
    // Redis trims whole nodes (100 entries by default), so a stream may hold up to a node more.
    expect(held.length).toBeGreaterThanOrEqual(300)
    expect(held.length).toBeLessThanOrEqual(400)
    expect(held[0]?.entry).toBe('999')
    expect(held.map((e) => Number(e.entry))).toEqual(
      Array.from({ length: held.length }, (_, i) => 999 - i)
    )
  })
})
