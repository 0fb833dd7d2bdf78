import { setTimeout as sleep } from 'node:timers/promises'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { manualClock } from '../../../tests/support/auth-app.ts'
import { createMemoryStore } from './memory-store.ts'
import { StoreFull, StoreUnavailable } from './store.ts'

describe('memory store bounds', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('sweeps expired keys that nobody reads again', async () => {
    const clock = manualClock()
    const store = createMemoryStore(clock, { sweepIntervalMs: 20 })
    for (let i = 0; i < 100; i++) await store.put(`short:${i}`, 'x', { ttlSeconds: 1 })
    await store.put('long', 'x', { ttlSeconds: 60 })
    expect(store.usage().keys).toBe(101)
    clock.advance(1_001)
    await sleep(100)
    expect(store.usage().keys).toBe(1)
    expect(store.usage().bytes).toBe('long'.length + 1)
    await store.close()
  })

  it('stops its sweep timer when closed, and the timer never holds the process', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] })
    const store = createMemoryStore(manualClock())
    expect(vi.getTimerCount()).toBe(1)
    await store.close()
    expect(vi.getTimerCount()).toBe(0)
  })

  it('refuses writes beyond its key bound like a full Redis, never evicting a live key', async () => {
    const store = createMemoryStore(manualClock(), { maxKeys: 10 })
    for (let i = 0; i < 10; i++) await store.put(`live:${i}`, String(i))
    const full = store.put('one-more', 'x').catch((error: unknown) => error)
    expect(await full).toBeInstanceOf(StoreFull)
    expect(await full).toBeInstanceOf(StoreUnavailable)
    await expect(store.increment('counter', 60)).rejects.toBeInstanceOf(StoreFull)
    await expect(store.addToSet('set', 'a')).rejects.toBeInstanceOf(StoreFull)
    await expect(
      store.batch([
        { op: 'put', key: 'live:0', value: 'changed' },
        { op: 'put', key: 'new', value: 'x' },
      ])
    ).rejects.toBeInstanceOf(StoreFull)
    // Nothing of the refused batch was applied, and every live key is still there.
    expect(await store.getMany(Array.from({ length: 10 }, (_, i) => `live:${i}`))).toEqual(
      Array.from({ length: 10 }, (_, i) => String(i))
    )
    // Overwriting, taking and deleting keep working; a freed slot can be used again.
    expect(await store.put('live:1', 'y')).toBe(true)
    expect(await store.take('live:2')).toBe('2')
    expect(await store.put('one-more', 'x')).toBe(true)
    expect(await store.delete('live:3')).toBe(1)
    expect(await store.increment('counter', 60)).toBe(1)
    await store.close()
  })

  it('refuses writes beyond its byte bound', async () => {
    const store = createMemoryStore(manualClock(), { maxBytes: 1_000 })
    await store.put('a', 'x'.repeat(600))
    await expect(store.put('b', 'x'.repeat(600))).rejects.toBeInstanceOf(StoreFull)
    await expect(store.put('a', 'x'.repeat(1_200))).rejects.toBeInstanceOf(StoreFull)
    expect(await store.put('a', 'x'.repeat(100))).toBe(true)
    expect(await store.put('b', 'x'.repeat(600))).toBe(true)
    expect(store.usage()).toEqual({ keys: 2, bytes: 2 + 700 })
    await store.close()
  })

  it('makes room from expired keys before refusing a write', async () => {
    const clock = manualClock()
    const store = createMemoryStore(clock, { maxKeys: 10, sweepIntervalMs: 3_600_000 })
    for (let i = 0; i < 10; i++) await store.put(`short:${i}`, 'x', { ttlSeconds: 1 })
    clock.advance(1_001)
    expect(await store.put('after', 'x')).toBe(true)
    expect(store.usage().keys).toBe(1)
    await store.close()
  })

  it('counts set members in its bytes', async () => {
    const store = createMemoryStore(manualClock())
    await store.addToSet('s', 'ab')
    await store.addToSet('s', 'cd')
    await store.addToSet('s', 'cd')
    expect(store.usage()).toEqual({ keys: 1, bytes: 1 + 4 })
    await store.removeFromSet('s', 'ab')
    expect(store.usage()).toEqual({ keys: 1, bytes: 1 + 2 })
    await store.removeFromSet('s', 'cd')
    expect(store.usage()).toEqual({ keys: 0, bytes: 0 })
    await store.close()
  })
})
