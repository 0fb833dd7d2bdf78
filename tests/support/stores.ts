import { randomUUID } from 'node:crypto'
import { inject } from 'vitest'
import { createRedisStore } from '../../auth/src/store/redis-store.ts'
import type { Store } from '../../auth/src/store/store.ts'

/**
 * A Redis store on the run's shared test Redis, under a key prefix of its own, so test files do
 * not see each other's keys. `clear()` deletes everything under the prefix.
 */
export function createTestRedisStore(): Store & { clear(): Promise<void> } {
  const prefix = `test:${randomUUID()}:`
  const store = createRedisStore(inject('redisUrl'), prefix)
  return Object.assign(store, {
    async clear() {
      const found: string[] = []
      for await (const key of store.scan('')) found.push(key)
      if (found.length > 0) await store.delete(...found)
    },
  })
}
