import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedisStore } from '../../auth/src/store/redis-store.ts'
import { type Store, StoreMisconfigured, StoreUnavailable } from '../../auth/src/store/store.ts'
import { type RedisCluster, startRedisCluster } from '../support/redis-topologies.ts'

/**
 * An operator moving the gateway's slot to another master (`redis-cli --cluster reshard`) moves
 * its keys a few at a time; meanwhile a key not moved yet is still read where it was, and one
 * moved is read where it went (ASK). Reads issued together must each find their key: a
 * registered client read as absent is told `invalid_client`, and registers again.
 */
describe('Redis Cluster: the gateway slot half moved', () => {
  let cluster: RedisCluster
  let store: Store
  beforeAll(async () => {
    cluster = await startRedisCluster(3)
    store = createRedisStore(cluster.url, 'gateway:')
  })
  afterAll(async () => {
    await store?.close()
    await cluster?.stop()
  })

  const cli = (port: number, ...args: string[]) =>
    cluster.cli(port, ...args).then((reply) => reply.trim())

  it('reads every key where it is, moved or not, also when the reads leave together', async () => {
    const names = Array.from({ length: 20 }, (_, i) => `client:${i}`)
    for (const name of names) await store.put(name, `record ${name}`)

    const ports = cluster.masters.map(({ port }) => port)
    const slot = await cli(ports[0] ?? 0, 'cluster', 'keyslot', '{gateway}')
    const counts = await Promise.all(
      ports.map((port) => cli(port, 'cluster', 'countkeysinslot', slot))
    )
    const source = ports[counts.indexOf(String(names.length))] ?? 0
    const target = ports.find((port) => port !== source) ?? 0
    const [sourceId, targetId] = await Promise.all(
      [source, target].map((port) => cli(port, 'cluster', 'myid'))
    )
    await cli(target, 'cluster', 'setslot', slot, 'importing', sourceId ?? '')
    await cli(source, 'cluster', 'setslot', slot, 'migrating', targetId ?? '')
    // Half the keys go first, as a reshard moving them a few at a time leaves them.
    for (const name of names.slice(0, 10)) {
      const key = `{gateway}:${name}`
      expect(await cli(source, 'migrate', '127.0.0.1', String(target), key, '0', '5000')).toBe('OK')
    }

    for (let round = 0; round < 5; round++) {
      const read = await Promise.all(names.map((name) => store.get(name)))
      expect(read).toEqual(names.map((name) => `record ${name}`))
    }
    expect(await store.get('client:absent')).toBeNull()

    // A write follows its key: to where it went, where it is, and a new one to where it goes.
    for (const name of ['client:3', 'client:15', 'client:new']) {
      await store.put(name, 'changed')
      expect(await store.get(name)).toBe('changed')
    }
    // Keys read together while they are split between two nodes: an outage of the moment (503),
    // not a wrong REDIS_URL.
    const split = await store.getMany(['client:3', 'client:15']).catch((error: unknown) => error)
    expect(split).toBeInstanceOf(StoreUnavailable)
    expect(split).not.toBeInstanceOf(StoreMisconfigured)
  })
})
