import { inspect } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedisStore } from '../../auth/src/store/redis-store.ts'
import {
  StoreAccessDenied,
  StoreMisconfigured,
  StoreUnavailable,
} from '../../auth/src/store/store.ts'
import { freePort } from '../support/free-port.ts'
import {
  freeClusterPort,
  type RedisCluster,
  type RedisSentinels,
  startRedisCluster,
  startRedisOnPort,
  startRedisSentinels,
} from '../support/redis-topologies.ts'
import { expectStartRefused, failureOf, failuresAt } from '../support/store-failures.ts'

/**
 * A `REDIS_URL` that names the wrong kind of Redis: a Cluster URL at a server without cluster
 * mode, a Sentinel URL with a master name the Sentinels do not monitor (or at nodes that are no
 * Sentinels), a one-server URL at a Cluster node. Waiting will not mend these: each is
 * `StoreMisconfigured` naming the mistake, and stops the auth server's start (exit 2). Only when
 * every node agrees: one stray node among nodes out of reach is still an outage.
 */
function expectMistakes(failures: unknown[], says: RegExp): void {
  for (const failure of failures) {
    expect(failure).toBeInstanceOf(StoreMisconfigured)
    expect(failure).toBeInstanceOf(StoreUnavailable)
    expect(failure).not.toBeInstanceOf(StoreAccessDenied)
    expect((failure as Error).message).toMatch(says)
  }
}

function expectOutages(failures: unknown[]): void {
  for (const failure of failures) {
    expect(failure).toBeInstanceOf(StoreUnavailable)
    expect(failure).not.toBeInstanceOf(StoreMisconfigured)
  }
}

/** A Redis server of the enclosing describe's own, on a free port: its port once started. */
function useRedisServer(): () => number {
  let port = 0
  let redis: { stop(): Promise<void> } | undefined
  beforeAll(async () => {
    port = await freePort()
    redis = await startRedisOnPort(port)
  })
  afterAll(() => redis?.stop())
  return () => port
}

describe('a Cluster URL at a Redis without cluster mode', () => {
  const port = useRedisServer()

  it('is StoreMisconfigured naming the mismatch, at once', async () => {
    const started = Date.now()
    expectMistakes(
      await failuresAt(`redis-cluster://127.0.0.1:${port()}`),
      /^not a Redis Cluster: .*cluster support disabled/
    )
    // Well before the 2 s the store gives a command: the first round of the nodes says it.
    expect(Date.now() - started).toBeLessThan(3_000)
  })

  it('is an outage while another node of the URL is out of reach', async () => {
    expectOutages(
      await failuresAt(`redis-cluster://127.0.0.1:${port()},127.0.0.1:${await freeClusterPort()}`)
    )
  })

  it('stops the auth server at start with one line', async () => {
    const url = `redis-cluster://127.0.0.1:${port()}`
    await expectStartRefused(url, /not a Redis Cluster: .*cluster support disabled/, false)
    await expectStartRefused(url, /not a Redis Cluster/, true)
  }, 60_000)
})

describe('a database number the server does not have', () => {
  const port = useRedisServer()

  // The client would go on in database 0 beside whatever lives there, and a corrected URL later
  // would seem to have lost every client and token.
  it('is StoreMisconfigured at the ping, and stops the start with one line', async () => {
    const url = `redis://127.0.0.1:${port()}/99`
    const store = createRedisStore(url, 'db99:')
    try {
      const failure = await store.ping().catch((error: unknown) => error)
      expectMistakes([failure], /^this Redis has no database 99/)
    } finally {
      await store.close()
    }
    await expectStartRefused(url, /this Redis has no database 99/, false)
    await expectStartRefused(url, /this Redis has no database 99/, true)
  }, 60_000)

  it('serves a database it has', async () => {
    const store = createRedisStore(`redis://127.0.0.1:${port()}/3`, 'db3:')
    try {
      await store.ping()
      await store.put('k', 'v')
      expect(await store.get('k')).toBe('v')
    } finally {
      await store.close()
    }
  })
})

describe('a Sentinel URL whose master name the Sentinels do not monitor', () => {
  let sentinels: RedisSentinels
  beforeAll(async () => {
    sentinels = await startRedisSentinels(3)
  })
  afterAll(() => sentinels?.stop())
  const typo = () => sentinels.url.replace(/\/gateway-master$/, '/gateway-mastr')

  it('is StoreMisconfigured naming the master name', async () => {
    expectMistakes(
      await failuresAt(typo()),
      /^unknown Sentinel master: .*"gateway-mastr".*No such master/
    )
  })

  it('is an outage while a Sentinel of the URL is out of reach (it might know the name)', async () => {
    const withAbsent = typo().replace(
      '/gateway-mastr',
      `,127.0.0.1:${await freePort()}/gateway-mastr`
    )
    expectOutages(await failuresAt(withAbsent))
  })

  it('stops the auth server at start with one line', async () => {
    await expectStartRefused(typo(), /unknown Sentinel master: .*"gateway-mastr"/, false)
    await expectStartRefused(typo(), /unknown Sentinel master/, true)
  }, 60_000)

  it('serves with the right name', async () => {
    const store = createRedisStore(sentinels.url, 'served:')
    try {
      await store.put('key', 'value')
      expect(await store.get('key')).toBe('value')
    } finally {
      await store.close()
    }
  })

  it('names data nodes listed as Sentinels', async () => {
    const [master] = sentinels.data
    expectMistakes(
      await failuresAt(`redis-sentinel://127.0.0.1:${master?.port}/${sentinels.masterName}`),
      /^not Sentinels: .*unknown command 'sentinel'/
    )
  })
})

describe('a one-server URL at a Cluster node', () => {
  let cluster: RedisCluster
  beforeAll(async () => {
    cluster = await startRedisCluster(3)
  })
  afterAll(() => cluster?.stop())
  /** The masters that redirect a command on `key`: those whose slots do not hold it. */
  async function redirecting(prefix: string, key: string): Promise<number[]> {
    const found: number[] = []
    for (const { port } of cluster.masters) {
      const store = createRedisStore(`redis://127.0.0.1:${port}`, prefix, 2_000)
      try {
        const failure = await store.get(key).then(
          () => undefined,
          (error: unknown) => error
        )
        if (failure) found.push(port)
      } finally {
        await store.close()
      }
    }
    return found
  }

  it('fails a command on a key of another node with StoreMisconfigured, without the value', async () => {
    const [port] = await redirecting('moved:', 'key')
    const store = createRedisStore(`redis://127.0.0.1:${port}`, 'moved:', 2_000)
    try {
      const failure = await failureOf(store.put('key', 'the-Value-3'))
      expectMistakes([failure], /^a Redis Cluster node: .*\(MOVED\)/)
      expect(inspect(failure, { depth: 10 })).not.toContain('the-Value-3')
    } finally {
      await store.close()
    }
  })

  it('fails a script across slots with StoreMisconfigured', async () => {
    const [port] = cluster.masters
    const store = createRedisStore(`redis://127.0.0.1:${port?.port}`, 'moved:', 2_000)
    try {
      const keys = ['a', 'b', 'c', 'd']
      const failure = await failureOf(
        store.batch(keys.map((key) => ({ op: 'put', key, value: 'the-Value-3' })))
      )
      expectMistakes([failure], /^a Redis Cluster node: .*\((CROSSSLOT|MOVED)\)/)
      expect(inspect(failure, { depth: 10 })).not.toContain('the-Value-3')
    } finally {
      await store.close()
    }
  })

  it('stops the auth server at start, whichever node holds the signing keys, pinned key or not', async () => {
    const [elsewhere] = await redirecting('gateway:', 'signing-keys')
    const here = cluster.masters.find(({ port }) => port !== elsewhere)?.port
    const says = /a Redis Cluster node: .*cluster mode \(cluster_enabled:1\)/
    await expectStartRefused(`redis://127.0.0.1:${here}`, says, false)
    await expectStartRefused(`redis://127.0.0.1:${elsewhere}`, says, true)
  }, 60_000)

  it('is told by a ping, what /ready asks', async () => {
    const port = cluster.masters[0]?.port
    const store = createRedisStore(`redis://127.0.0.1:${port}`, 'ping:', 2_000)
    try {
      expectMistakes([await failureOf(store.ping())], /\(cluster_enabled:1\)/)
    } finally {
      await store.close()
    }
  })
})
