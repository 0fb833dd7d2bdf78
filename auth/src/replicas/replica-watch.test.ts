import { afterEach, describe, expect, it } from 'vitest'
import { manualClock, TEST_ISSUER } from '../../../tests/support/auth-app.ts'
import { createTestRedisStore } from '../../../tests/support/stores.ts'
import { loadConfig } from '../config.ts'
import { createLogger } from '../logger.ts'
import { createAuthMetrics } from '../metrics/auth-metrics.ts'
import { keys } from '../store/keys.ts'
import { type Store, StoreUnavailable } from '../store/store.ts'
import { announcedReplicas } from './replica-registry.ts'
import { watchReplicas } from './replica-watch.ts'

const store = createTestRedisStore()
afterEach(() => store.clear())

/** A replica of the gateway on the test's store, with `env` as its settings, and its log. */
function replicaWith(env: Record<string, string>, on: Store = store) {
  const logs: Record<string, unknown>[] = []
  const logger = createLogger('info', {
    write: (line: string) => {
      logs.push(JSON.parse(line) as Record<string, unknown>)
    },
  })
  const metrics = createAuthMetrics()
  const config = loadConfig({ AUTH_ISSUER: TEST_ISSUER, ...env })
  const watch = watchReplicas({ store: on, clock: manualClock(), logger, config, metrics })
  const gauge = async () => (await metrics.replicaSettingsDisagreeing.get()).values[0]?.value
  return { watch, logs, gauge }
}

describe('watchReplicas', () => {
  it('says nothing while every replica agrees, and announces each', async () => {
    const a = replicaWith({ ALLOWED_GITHUB_USERS: 'alice,bob' })
    const b = replicaWith({ ALLOWED_GITHUB_USERS: 'bob,alice' })
    expect(await a.watch.look()).toEqual([])
    expect(await b.watch.look()).toEqual([])
    expect(await a.watch.look()).toEqual([])
    expect((await announcedReplicas(store)).map((r) => r.id).sort()).toEqual(
      [a.watch.replica.id, b.watch.replica.id].sort()
    )
    expect([...a.logs, ...b.logs].filter((line) => line.event === 'replicas_disagree')).toEqual([])
    expect(await a.gauge()).toBe(0)
    await a.watch.stop()
    await b.watch.stop()
  })

  it('warns of another allow-list once, then that all agree when that replica stops', async () => {
    const a = replicaWith({ ALLOWED_GITHUB_USERS: 'alice' })
    const b = replicaWith({ ALLOWED_GITHUB_USERS: 'alice,bob' })
    await a.watch.look()
    expect(await b.watch.look()).toEqual([
      { setting: 'ALLOWED_GITHUB_USERS', replicas: [a.watch.replica.id] },
    ])
    await a.watch.look()
    await a.watch.look()
    const warnings = a.logs.filter((line) => line.event === 'replicas_disagree')
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatchObject({
      level: 40,
      settings: ['ALLOWED_GITHUB_USERS'],
      replicas: [b.watch.replica.id],
    })
    expect(JSON.stringify(warnings[0])).not.toContain('bob')
    expect(await a.gauge()).toBe(1)

    // Stopped, its word is kept a minute (a replica restarting mid-rollout still counts)...
    await b.watch.stop()
    expect(await a.watch.look()).toHaveLength(1)
    const stopped = JSON.parse((await store.get(keys.replica(b.watch.replica.id))) ?? '{}')
    expect(stopped).toMatchObject({ id: b.watch.replica.id, stoppedAt: expect.any(Number) })
    expect(await store.ttl(keys.replica(b.watch.replica.id))).toBeLessThanOrEqual(60)
    // ...then it is gone, as the minute's TTL does.
    await store.delete(keys.replica(b.watch.replica.id))
    expect(await a.watch.look()).toEqual([])
    expect(a.logs.at(-1)).toMatchObject({ event: 'replicas_agree', replicas: 1 })
    expect(await a.gauge()).toBe(0)
    await a.watch.stop()
  })

  it('forgets a replica killed without its stop once its announcement is gone', async () => {
    const a = replicaWith({})
    const killed = replicaWith({ ACCESS_TOKEN_TTL: '600' })
    await killed.watch.look()
    expect(await a.watch.look()).toHaveLength(1)
    // What the announcement's TTL does to a replica that no longer rewrites it.
    await store.delete(keys.replica(killed.watch.replica.id))
    expect(await a.watch.look()).toEqual([])
    expect(await store.setMembers(keys.replicas())).toEqual([a.watch.replica.id])
    expect(await store.ttl(keys.replica(a.watch.replica.id))).toBeGreaterThan(60)
    await Promise.all([a.watch.stop(), killed.watch.stop()])
  })

  it('compares all the same when its own announcement fails (a Sentinel master with no replica)', async () => {
    const other = replicaWith({ ALLOWED_GITHUB_USERS: 'alice' })
    await other.watch.look()
    const unconfirmed: Store = {
      ...store,
      batch: () => Promise.reject(new StoreUnavailable('the write was not replicated')),
    }
    const a = replicaWith({ ALLOWED_GITHUB_USERS: 'alice,bob' }, unconfirmed)
    expect(await a.watch.look()).toEqual([
      { setting: 'ALLOWED_GITHUB_USERS', replicas: [other.watch.replica.id] },
    ])
    expect(await a.watch.disagreesOn(['ALLOWED_GITHUB_USERS'])).toBe(true)
    await other.watch.stop()
  })

  it('shares one look among the refusals that ask together', async () => {
    let reads = 0
    const counted: Store = {
      ...store,
      setMembers: (key) => {
        reads++
        return store.setMembers(key)
      },
    }
    const a = replicaWith({}, counted)
    const asked = await Promise.all([1, 2, 3].map(() => a.watch.disagreesOn(['AUTH_ISSUER'])))
    expect(asked).toEqual([false, false, false])
    expect(reads).toBe(1)
    await a.watch.stop()
  })
})
