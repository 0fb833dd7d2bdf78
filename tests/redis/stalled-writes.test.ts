import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedisStore } from '../../auth/src/store/redis-store.ts'
import { freePort } from '../support/free-port.ts'

/**
 * Redis itself stops (SIGSTOP: a paused VM, a long fork on a full host) while commands are on
 * their way. Their callers time out; once nothing has answered for two command timeouts the
 * store makes its connection again. Redis, resumed, still runs what the old connection had
 * delivered, so a write sent again on the new connection would run twice: an audit event
 * appended twice, a counter counted twice. What timed out is given up, never sent again.
 */
describe('Redis paused while writes are in flight', () => {
  let redis: ChildProcess
  let port: number
  beforeAll(async () => {
    port = await freePort()
    redis = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    })
    for (let tries = 0; ; tries++) {
      const probe = new Redis(port, { lazyConnect: true, retryStrategy: () => null })
      probe.on('error', () => {})
      try {
        await probe.connect()
        await probe.ping()
        probe.disconnect()
        break
      } catch (error) {
        probe.disconnect()
        if (tries > 100) throw error
        await sleep(50)
      }
    }
  })
  afterAll(async () => {
    if (redis.exitCode === null) {
      redis.kill('SIGCONT')
      redis.kill('SIGKILL')
      await once(redis, 'exit')
    }
  })

  it('runs a write that timed out at most once', async () => {
    const store = createRedisStore(`redis://127.0.0.1:${port}`, 'stalled-writes:', 300)
    const control = new Redis(port)
    try {
      await store.put('warm', '1')
      redis.kill('SIGSTOP')
      await expect(store.appendToStream('audit', '{"event":"once"}', 100)).rejects.toThrow()
      // More commands time out until the silence makes the store connect again.
      for (let i = 0; i < 8; i++) {
        await store.get('warm').catch(() => {})
      }
      redis.kill('SIGCONT')
      await expect.poll(() => store.get('warm').catch(() => null), { timeout: 10_000 }).toBe('1')
      await sleep(500)
      expect(await control.xlen('stalled-writes:audit')).toBeLessThanOrEqual(1)
    } finally {
      control.disconnect()
      await store.close()
    }
  })
})
