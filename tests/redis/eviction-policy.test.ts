import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { composeAuthServer } from '../../auth/src/compose-auth-server.ts'
import { loadConfig } from '../../auth/src/config.ts'
import { createLogger } from '../../auth/src/logger.ts'
import { evictionRiskIn } from '../../auth/src/store/redis-mistakes.ts'
import { createRedisStore } from '../../auth/src/store/redis-store.ts'
import { manualClock, TEST_ISSUER } from '../support/auth-app.ts'
import { freePort } from '../support/free-port.ts'
import { startRedisOnPort } from '../support/redis-topologies.ts'

/**
 * A Redis that evicts keys at its memory limit (a managed Redis's usual `volatile-lru`, or
 * `allkeys-lru`) drops clients, tokens, revocations and signing keys without a trace: the gateway
 * says so at start. `noeviction`, or no limit at all, keeps everything and is left unremarked.
 */
describe('a Redis that may evict keys', () => {
  let redis: { stop(): Promise<void> }
  let port: number
  let admin: Redis
  beforeAll(async () => {
    port = await freePort()
    redis = await startRedisOnPort(port)
    admin = new Redis({ port, lazyConnect: true })
  })
  afterAll(async () => {
    admin?.disconnect()
    await redis?.stop()
  })

  const startWarnings = async () => {
    const lines: Record<string, unknown>[] = []
    const logger = createLogger('info', {
      write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>),
    })
    const store = createRedisStore(`redis://127.0.0.1:${port}`, 'eviction-test:')
    try {
      await composeAuthServer({
        config: loadConfig({ AUTH_ISSUER: TEST_ISSUER }),
        store,
        clock: manualClock(),
        logger,
      })
    } finally {
      await store.close()
    }
    return lines.filter((line) => line.event === 'store_may_evict').map((line) => line.msg)
  }

  it('is named at start, with its policy, and noeviction or no limit is not', async () => {
    await admin.config('SET', 'maxmemory', '104857600')
    await admin.config('SET', 'maxmemory-policy', 'volatile-lru')
    expect(await startWarnings()).toEqual([
      'Redis evicts keys at its memory limit (maxmemory 104857600 bytes, maxmemory-policy volatile-lru): registered clients, tokens, revocations and signing keys can vanish; set maxmemory-policy noeviction',
    ])
    await admin.config('SET', 'maxmemory-policy', 'noeviction')
    expect(await startWarnings()).toEqual([])
    await admin.config('SET', 'maxmemory-policy', 'allkeys-lru')
    await admin.config('SET', 'maxmemory', '0')
    expect(await startWarnings()).toEqual([])
  })

  it('reads the limit and policy from INFO memory', () => {
    const info = (limit: string, policy: string) =>
      `# Memory\r\nused_memory:1000\r\nmaxmemory:${limit}\r\nmaxmemory_policy:${policy}\r\n`
    expect(evictionRiskIn(info('1000', 'allkeys-lfu'))).toContain('maxmemory-policy allkeys-lfu')
    expect(evictionRiskIn(info('1000', 'noeviction'))).toBeUndefined()
    expect(evictionRiskIn(info('0', 'volatile-lru'))).toBeUndefined()
    expect(evictionRiskIn('# Memory\r\n')).toBeUndefined()
  })
})
