import { describe, expect, it } from 'vitest'
import { manualClock } from '../../../tests/support/auth-app.ts'
import { type FillableRedis, useFillableRedis } from '../../../tests/support/stores.ts'
import { composeAuthServer } from '../compose-auth-server.ts'
import { loadConfig } from '../config.ts'
import { createLogger } from '../logger.ts'
import { type Store, StoreFull } from './store.ts'

/**
 * Redis with `maxmemory` and `noeviction` (as compose runs it) refuses writes once full. The
 * gateway must answer that as 503 `temporarily_unavailable`, never as a 500, and no live key may
 * be lost. A Redis of its own: a tiny `maxmemory` would break every other test file.
 */
describe('a full Redis (maxmemory, noeviction)', () => {
  let redis: FillableRedis
  let store: Store
  useFillableRedis((started) => {
    redis = started
    store = started.store
  })

  it('refuses writes with StoreFull, keeps live keys, and the gateway answers 503', async () => {
    const config = loadConfig({
      AUTH_ISSUER: 'http://localhost:8080',
      LOG_LEVEL: 'silent',
      REFUSAL_LOG_RATE: '2',
    })
    const logs: Record<string, unknown>[] = []
    const clock = manualClock()
    const { app } = await composeAuthServer({
      config,
      store,
      clock,
      logger: createLogger('info', { write: (line: string) => void logs.push(JSON.parse(line)) }),
    })
    await store.put('live', 'kept')
    await store.addToSet('members', 'kept')
    await store.addToSet('members', 'gone')
    expect(await redis.fill()).toBeInstanceOf(StoreFull)
    await expect(store.increment('counter', 60)).rejects.toBeInstanceOf(StoreFull)
    await expect(
      store.batch([
        { op: 'put', key: 'a', value: 'x' },
        { op: 'addToSet', key: 'b', member: 'y' },
      ])
    ).rejects.toBeInstanceOf(StoreFull)
    // A rotation's script is refused before it takes anything.
    await expect(
      store.takeAndWrite('live', [{ op: 'put', key: 'successor', value: 'x' }])
    ).rejects.toBeInstanceOf(StoreFull)
    expect(await store.get('live')).toBe('kept')
    expect(await store.get('filler:0')).toBe('x'.repeat(1024))

    const register = () =>
      app.request('http://localhost:8080/register', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ redirect_uris: ['https://app.example.com/cb'] }),
      })
    const response = await register()
    expect(response.status).toBe(503)
    expect(response.headers.get('retry-after')).toBe('5')
    expect(await response.json()).toMatchObject({ error: 'temporarily_unavailable' })
    // An outage the answer handles: a named warning, not an error with a stack.
    const logged = logs.filter((line) => line.path === '/register' && line.level !== 30)
    expect(logged).toEqual([
      expect.objectContaining({ level: 40, event: 'store_unavailable', method: 'POST' }),
    ])
    expect(JSON.stringify(logged)).not.toContain('stack')
    // Every request in an outage fails alike: REFUSAL_LOG_RATE lines a second, the rest counted.
    for (let i = 0; i < 4; i += 1) expect((await register()).status).toBe(503)
    clock.advance(1000)
    expect((await register()).status).toBe(503)
    expect(logs.filter((line) => line.event === 'store_unavailable')).toHaveLength(3)
    expect(logs.filter((line) => line.event === 'store_unavailable_suppressed')).toEqual([
      expect.objectContaining({ level: 40, suppressed: 3 }),
    ])

    // Reads and deletes still work when full, so room can be made: a batch of deletions too (a
    // revocation's or a withdrawn consent's), but never one that writes as well.
    expect(await store.delete('filler:0', 'filler:1')).toBe(2)
    expect(await redis.fill()).toBeInstanceOf(StoreFull)
    await expect(
      store.batch([
        { op: 'delete', key: 'filler:2' },
        { op: 'put', key: 'a', value: 'x' },
      ])
    ).rejects.toBeInstanceOf(StoreFull)
    expect(await store.get('filler:2')).toBe('x'.repeat(1024))
    expect(
      await store.batch([
        { op: 'delete', key: 'filler:2' },
        { op: 'delete', key: 'live' },
        { op: 'removeFromSet', key: 'members', member: 'gone' },
      ])
    ).toBe(true)
    expect(await store.getMany(['filler:2', 'live'])).toEqual([null, null])
    expect(await store.setMembers('members')).toEqual(['kept'])
    await redis.makeRoom()
    expect(await store.put('after', 'x')).toBe(true)
  })
})
