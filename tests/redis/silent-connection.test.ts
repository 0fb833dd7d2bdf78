import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedisStore } from '../../auth/src/store/redis-store.ts'
import { StoreUnavailable } from '../../auth/src/store/store.ts'
import { freePort } from '../support/free-port.ts'
import { startRedisOnPort } from '../support/redis-topologies.ts'
import { type StallingProxy, startStallingProxy } from '../support/stalling-proxy.ts'

/**
 * The store's connection goes silent without closing (the host behind it vanished, a stale
 * conntrack entry after Redis moved): commands time out, and once nothing has answered for two
 * command timeouts the connection is made again, instead of waiting about 15 minutes for the
 * kernel to give up.
 */
describe('a Redis connection that goes silent', () => {
  let redis: { stop(): Promise<void> }
  let proxy: StallingProxy
  beforeAll(async () => {
    const port = await freePort()
    redis = await startRedisOnPort(port)
    proxy = await startStallingProxy(port)
  })
  afterAll(async () => {
    await proxy?.close()
    await redis?.stop()
  })

  it('is dropped and made again, and the store answers', async () => {
    const store = createRedisStore(`redis://127.0.0.1:${proxy.port}`, 'silent-test:', 500)
    try {
      await store.put('kept', 'yes')
      proxy.silenceOpenConnections()
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
    const store = createRedisStore(`redis://127.0.0.1:${proxy.port}`, 'idle-test:', 500)
    try {
      await store.put('kept', 'yes')
      const opened = proxy.connectionsOpened()
      // Idle for longer than the silence allowed, then one command stalls past its timeout.
      await new Promise((resolve) => setTimeout(resolve, 1_500))
      proxy.arm((chunk) => chunk.toString().includes('idle-test:kept'), 700)
      await expect(store.get('kept')).rejects.toThrow()
      await proxy.released()
      expect(await store.get('kept')).toBe('yes')
      expect(proxy.connectionsOpened()).toBe(opened)
    } finally {
      await store.close()
    }
  })
})
