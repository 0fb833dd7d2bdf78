import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedisStore } from '../../auth/src/store/redis-store.ts'
import { StoreUnavailable } from '../../auth/src/store/store.ts'
import { type RedisBehindProxy, startRedisBehindProxy } from '../support/stalling-proxy.ts'

/**
 * The store's connection goes silent without closing (the host behind it vanished, a stale
 * conntrack entry after Redis moved): commands time out, and once nothing has answered for two
 * command timeouts the connection is made again, instead of waiting about 15 minutes for the
 * kernel to give up.
 */
describe('a Redis connection that goes silent', () => {
  let redis: RedisBehindProxy
  beforeAll(async () => {
    redis = await startRedisBehindProxy()
  })
  afterAll(async () => {
    await redis?.stop()
  })

  it('is dropped and made again, and the store answers', async () => {
    const store = createRedisStore(redis.url, 'silent-test:', 500)
    try {
      await store.put('kept', 'yes')
      redis.proxy.silenceOpenConnections()
      const started = Date.now()
      const failures: unknown[] = []
      let answer: string | null | undefined
      while (answer === undefined && Date.now() - started < 15_000) {
        answer = await store.get('kept').catch((error: unknown) => {
          failures.push(error)
          return undefined
        })
      }
      expect(answer).toBe('yes')
      expect(failures.length).toBeGreaterThan(0)
      expect(failures.every((failure) => failure instanceof StoreUnavailable)).toBe(true)
      // Two command timeouts of silence, then a new connection: well within seconds.
      expect(Date.now() - started).toBeLessThan(5_000)
    } finally {
      await store.close()
    }
  })

  it('keeps a connection that was only idle, through a stall shorter than the silence', async () => {
    const store = createRedisStore(redis.url, 'idle-test:', 500)
    try {
      await store.put('kept', 'yes')
      const opened = redis.proxy.connectionsOpened()
      // Idle for longer than the silence allowed, then one command stalls past its timeout.
      await new Promise((resolve) => setTimeout(resolve, 1_500))
      redis.proxy.arm((chunk) => chunk.toString().includes('idle-test:kept'), 700)
      await expect(store.get('kept')).rejects.toThrow()
      await redis.proxy.released()
      expect(await store.get('kept')).toBe('yes')
      expect(redis.proxy.connectionsOpened()).toBe(opened)
    } finally {
      await store.close()
    }
  })
})
