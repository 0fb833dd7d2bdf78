import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, inject } from 'vitest'
import { createRedisStore } from '../../auth/src/store/redis-store.ts'
import type { Store } from '../../auth/src/store/store.ts'
import { type RedisServer, startRedisServer } from './redis-server.ts'

/**
 * A Redis store on the run's shared test Redis, under a key prefix of its own, so test files do
 * not see each other's keys. `clear()` deletes everything under the prefix.
 */
export function createTestRedisStore(): Store & { clear(): Promise<void> } {
  return clearable(createRedisStore(inject('redisUrl'), `test:${randomUUID()}:`))
}

/** `store` with `clear()`, which deletes every key under its prefix. */
export function clearable(store: Store): Store & { clear(): Promise<void> } {
  return Object.assign(store, {
    async clear() {
      const found: string[] = []
      for await (const key of store.scan('')) found.push(key)
      if (found.length > 0) await store.delete(...found)
    },
  })
}

/** A Redis store that a test can fill up, as compose's `maxmemory` with `noeviction` would be. */
export interface FillableRedis {
  readonly store: Store
  /**
   * Sets `maxmemory` just above what is used (`noeviction`) and writes 1 KiB values until Redis
   * refuses one; resolves with that refusal.
   */
  fill(): Promise<unknown>
  /** Lifts `maxmemory` again. */
  makeRoom(): Promise<void>
}

/**
 * For one describe block: a Redis server of its own (a tiny `maxmemory` on the shared one would
 * break every other test file), handed to `use` once started, stopped afterwards.
 */
export function useFillableRedis(use: (redis: FillableRedis) => void): void {
  let server: RedisServer | undefined
  let admin: Redis | undefined
  let store: Store | undefined
  beforeAll(async () => {
    server = await startRedisServer()
    const control = new Redis(server.url)
    const full = createRedisStore(server.url, 'full:')
    admin = control
    store = full
    const usedMemory = async () =>
      Number(/used_memory:(\d+)/.exec(await control.info('memory'))?.[1] ?? Number.NaN)
    use({
      store: full,
      async fill() {
        await control.config('SET', 'maxmemory-policy', 'noeviction')
        await control.config('SET', 'maxmemory', String((await usedMemory()) + 256 * 1024))
        for (let i = 0; i < 5_000; i++) {
          const refusal = await full.put(`filler:${i}`, 'x'.repeat(1024)).then(
            () => undefined,
            (error: unknown) => error
          )
          if (refusal !== undefined) {
            // Right at the limit, a freed buffer can let the next write through: stay over it.
            await control.config('SET', 'maxmemory', String((await usedMemory()) - 64 * 1024))
            return refusal
          }
        }
        throw new Error('Redis never filled up')
      },
      async makeRoom() {
        await control.config('SET', 'maxmemory', '0')
      },
    })
  })
  afterAll(async () => {
    await store?.close()
    await admin?.quit()
    await server?.stop()
  })
}
