import { inspect } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedisStore } from '../../auth/src/store/redis-store.ts'
import { StoreAccessDenied, StoreUnavailable } from '../../auth/src/store/store.ts'
import { startGatewayProcess } from '../support/gateway-process.ts'
import {
  freeClusterPort,
  type RedisCluster,
  type RedisSentinels,
  startRedisCluster,
  startRedisSentinels,
} from '../support/redis-topologies.ts'
import {
  expectStartRefused as expectRefusedStart,
  failuresAt,
  scanAll,
} from '../support/store-failures.ts'

/**
 * A Cluster or Sentinels that cannot be reached, or that refuse the password of `REDIS_URL`,
 * fail as a single server does: an outage is `StoreUnavailable` (the auth server waits for it at
 * start), a refused password is `StoreAccessDenied` naming the cause (the start stops, exit 2),
 * although ioredis reports both alike on these topologies.
 */
const DATA_PASSWORD = 'data-Secret-4'
const SENTINEL_PASSWORD = 'sentinel-Secret-5'
const WRONG = 'wrong-Secret-6'
const SECRETS = [DATA_PASSWORD, SENTINEL_PASSWORD, WRONG]
const hosts = (url: string) => url.replace(/^[a-z-]+:\/\//, '')
const expectStartRefused = (url: string, says: RegExp, pinned: boolean) =>
  expectRefusedStart(url, says, pinned, SECRETS)

function expectRefusals(failures: unknown[], says: RegExp): void {
  for (const failure of failures) {
    expect(failure).toBeInstanceOf(StoreAccessDenied)
    expect((failure as Error).message).toMatch(says)
    // ioredis hangs the refused AUTH, password included, on the reply it fails with.
    expect((failure as Error).cause).toBeUndefined()
    const shown = inspect(failure, { depth: 10 })
    for (const secret of SECRETS) expect(shown).not.toContain(secret)
  }
}

describe('a Cluster none of whose nodes can be reached', () => {
  it('fails every operation with StoreUnavailable, no refusal', async () => {
    const url = `redis-cluster://127.0.0.1:${await freeClusterPort()},127.0.0.1:${await freeClusterPort()}`
    for (const failure of await failuresAt(url)) {
      expect(failure).toBeInstanceOf(StoreUnavailable)
      expect(failure).not.toBeInstanceOf(StoreAccessDenied)
      // ioredis's words for it: the ping says how its last attempt to read the slots failed.
      expect(inspect(failure)).toMatch(
        /None of startup nodes is available|Failed to refresh slots cache/
      )
    }
  })

  it('is waited for by the auth server, which serves once the Cluster comes up', async () => {
    const ports = [await freeClusterPort(), await freeClusterPort(), await freeClusterPort()]
    let readOutput = () => ''
    const started = startGatewayProcess(
      {
        GATEWAY_MODE: 'auth',
        REDIS_URL: `redis-cluster://${ports.map((port) => `127.0.0.1:${port}`).join(',')}`,
        ALLOWED_GITHUB_USERS: 'octocat',
      },
      { startTimeoutMs: 60_000, onSpawn: (output) => (readOutput = output) }
    ).then(
      (gateway) => ({ gateway }),
      (error: unknown) => ({ error })
    )
    // Waiting means trying again: a second attempt is logged (a crash would settle `started`).
    await expect
      .poll(() => readOutput(), { timeout: 30_000 })
      .toMatch(/"event":"store_unavailable_at_start","attempt":2/)
    const cluster = await startRedisCluster(3, { ports })
    try {
      const outcome = await started
      if ('error' in outcome) throw outcome.error
      try {
        expect((await fetch(`${outcome.gateway.url}/ready`)).status).toBe(200)
      } finally {
        await outcome.gateway.stop()
      }
    } finally {
      await cluster.stop()
    }
  }, 90_000)
})

describe('a Cluster that refuses the password of REDIS_URL', () => {
  let cluster: RedisCluster
  beforeAll(async () => {
    cluster = await startRedisCluster(3, { password: DATA_PASSWORD })
  })
  afterAll(() => cluster?.stop())
  const url = (userInfo: string) => `redis-cluster://${userInfo}${hosts(cluster.url)}`

  it('names a wrong or missing password, without it', async () => {
    expectRefusals(await failuresAt(url(`:${WRONG}@`)), /^wrong Redis password: .*WRONGPASS/)
    expectRefusals(await failuresAt(url(`nobody:${WRONG}@`)), /^wrong Redis password/)
    expectRefusals(await failuresAt(url('')), /^missing Redis password: .*NOAUTH/)
  })

  it('stops the auth server at start with one line', async () => {
    await expectStartRefused(url(`:${WRONG}@`), /wrong Redis password.*WRONGPASS/, false)
    await expectStartRefused(url(''), /missing Redis password.*NOAUTH/, true)
  }, 60_000)

  it('serves with the right password', async () => {
    const store = createRedisStore(url(`:${DATA_PASSWORD}@`), 'served:')
    try {
      await store.put('key', 'value')
      expect(await scanAll(store)).toEqual(['key'])
    } finally {
      await store.close()
    }
  })
})

describe('Sentinels and data nodes that each want their own password', () => {
  let redis: RedisSentinels
  beforeAll(async () => {
    redis = await startRedisSentinels(3, {
      password: DATA_PASSWORD,
      sentinelPassword: SENTINEL_PASSWORD,
    })
  })
  afterAll(() => redis?.stop())
  const url = (userInfo: string, sentinelPassword?: string) => {
    const query = sentinelPassword === undefined ? '' : `?sentinel_password=${sentinelPassword}`
    return `redis-sentinel://${userInfo}${hosts(redis.url)}${query}`
  }

  it('names whose password was refused, without it', async () => {
    expectRefusals(
      await failuresAt(url(`:${WRONG}@`, SENTINEL_PASSWORD)),
      /^wrong Redis password: .*WRONGPASS/
    )
    expectRefusals(
      await failuresAt(url('', SENTINEL_PASSWORD)),
      /^missing Redis password: .*NOAUTH/
    )
    expectRefusals(
      await failuresAt(url(`:${DATA_PASSWORD}@`, WRONG)),
      /^wrong Sentinel password: .*sentinel_password.*WRONGPASS/
    )
    expectRefusals(
      await failuresAt(url(`:${DATA_PASSWORD}@`)),
      /^missing Sentinel password: .*sentinel_password.*NOAUTH/
    )
  })

  it('stops the auth server at start with one line', async () => {
    const sentinelsRefuse = url(`:${DATA_PASSWORD}@`, WRONG)
    await expectStartRefused(sentinelsRefuse, /wrong Sentinel password.*WRONGPASS/, false)
    await expectStartRefused(sentinelsRefuse, /wrong Sentinel password.*WRONGPASS/, true)
    await expectStartRefused(url(`:${WRONG}@`, SENTINEL_PASSWORD), /wrong Redis password/, true)
  }, 60_000)

  it('serves with both passwords right', async () => {
    const store = createRedisStore(url(`:${DATA_PASSWORD}@`, SENTINEL_PASSWORD), 'served:')
    try {
      await store.put('key', 'value')
      expect(await store.get('key')).toBe('value')
    } finally {
      await store.close()
    }
  })
})
