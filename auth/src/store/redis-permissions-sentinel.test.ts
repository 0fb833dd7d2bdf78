import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type RedisSentinels,
  startRedisSentinels,
} from '../../../tests/support/redis-topologies.ts'
import { createRedisStore } from './redis-store.ts'

describe('the permission check on Sentinel', () => {
  let topology: RedisSentinels
  beforeAll(async () => {
    topology = await startRedisSentinels()
  })
  afterAll(() => topology.stop())

  // A start reads the ring and writes nothing: it must not wait for a replica to confirm the
  // probe's write, as requests that only read (`/verify`) are served without one.
  it('passes while the master has no replica up', async () => {
    const [, replica] = topology.data
    if (!replica) throw new Error('no replica')
    await topology.crash(replica)
    const store = createRedisStore(topology.url, 'gw:', 3_000)
    try {
      await store.ping()
      await expect(store.checkPermissions()).resolves.toBeUndefined()
    } finally {
      await store.close()
    }
  })
})
