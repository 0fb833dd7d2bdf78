import { Hono } from 'hono'
import { afterAll, describe, expect, it } from 'vitest'
import { manualClock } from '../../../tests/support/auth-app.ts'
import { createTestRedisStore } from '../../../tests/support/stores.ts'
import { systemClock } from '../clock.ts'
import { createLogger } from '../logger.ts'
import { errorLogs, toOAuthResponse } from './error-response.ts'
import { type RateLimitOptions, rateLimit, requestLimiter } from './rate-limit.ts'

describe('rateLimit', () => {
  const store = createTestRedisStore()
  afterAll(async () => {
    await store.clear()
    await store.close()
  })

  /** An endpoint behind the limit, and a request from `caller`. */
  const limitedApp = (options: Partial<RateLimitOptions> & { bucket: string }) => {
    const clock = manualClock(Date.UTC(2030, 0, 1, 12, 0, 10))
    const app = new Hono()
      .post(
        '/',
        rateLimit({ store, clock, limit: 2, windowSeconds: 60, trustProxy: false, ...options }),
        (c) => c.text('served')
      )
      .onError((error, c) =>
        toOAuthResponse(error, c, errorLogs(createLogger('silent'), 0, systemClock))
      )
    const from = (caller: string) =>
      Promise.resolve(
        app.request('/', { method: 'POST' }, { incoming: { socket: { remoteAddress: caller } } })
      )
    return { clock, from }
  }
  const statuses = async (responses: Promise<Response>[]) =>
    (await Promise.all(responses)).map((response) => response.status)

  it('limits each caller on its own and answers 429 with Retry-After until the window ends', async () => {
    const { clock, from } = limitedApp({ bucket: 'per-caller' })
    expect(await statuses([from('192.0.2.1'), from('192.0.2.1')])).toEqual([200, 200])
    const refused = await from('192.0.2.1')
    expect(refused.status).toBe(429)
    expect(refused.headers.get('retry-after')).toBe('50')
    expect(await refused.json()).toMatchObject({
      error: 'temporarily_unavailable',
      error_description: 'too many requests, retry later',
    })
    expect((await from('192.0.2.2')).status).toBe(200)
    clock.advance(50_000)
    expect((await from('192.0.2.1')).status).toBe(200)
  })

  it('caps all callers together, and a caller over its own limit spends none of it', async () => {
    const { from } = limitedApp({ bucket: 'global', globalLimit: 5 })
    const flood = await statuses(Array.from({ length: 20 }, () => from('192.0.2.1')))
    expect(flood.filter((status) => status === 200)).toHaveLength(2)
    expect(await statuses([from('192.0.2.2'), from('192.0.2.2')])).toEqual([200, 200])
    expect(await statuses([from('192.0.2.3'), from('192.0.2.3')])).toEqual([200, 429])
    expect((await from('192.0.2.4')).status).toBe(429)
  })

  it('counts a signed-in user by their id, and signed-in users apart from anonymous callers', async () => {
    const clock = manualClock(Date.UTC(2030, 0, 1, 12, 0, 10))
    const count = requestLimiter({
      store,
      clock,
      bucket: 'signed-in',
      limit: 2,
      globalLimit: 3,
      windowSeconds: 60,
      trustProxy: false,
    })
    const app = new Hono()
      .post('/', async (c) => {
        const user = c.req.header('x-test-user')
        await count(c, user ? { id: user } : null)
        return c.text('served')
      })
      .onError((error, c) =>
        toOAuthResponse(error, c, errorLogs(createLogger('silent'), 0, systemClock))
      )
    const from = (caller: string, user?: string) =>
      Promise.resolve(
        app.request(
          '/',
          { method: 'POST', headers: user ? { 'x-test-user': user } : {} },
          { incoming: { socket: { remoteAddress: caller } } }
        )
      ).then((response) => response.status)
    // Three addresses spend the anonymous side of the global limit.
    expect([await from('192.0.2.1'), await from('192.0.2.2'), await from('192.0.2.3')]).toEqual([
      200, 200, 200,
    ])
    expect(await from('192.0.2.4')).toBe(429)
    // A signed-in user is still served, counted as themselves wherever they send from.
    expect([await from('192.0.2.4', '1001'), await from('192.0.2.5', '1001')]).toEqual([200, 200])
    expect(await from('192.0.2.6', '1001')).toBe(429)
    // And signed-in users together have a global limit of their own.
    expect(await from('192.0.2.6', '1002')).toBe(200)
    expect(await from('192.0.2.6', '1003')).toBe(429)
  })

  it('counts concurrent requests atomically: exactly the limit get through', async () => {
    const { from } = limitedApp({ bucket: 'concurrent', limit: 10, globalLimit: 10 })
    const burst = await statuses(Array.from({ length: 100 }, () => from('192.0.2.1')))
    expect(burst.filter((status) => status === 200)).toHaveLength(10)
    expect(burst.filter((status) => status === 429)).toHaveLength(90)
  })

  it('counts concurrent requests to replicas on one store together: exactly the limit get through', async () => {
    // Each replica gathers its own requests of a turn into one count; the store adds them up.
    const replicas = [1, 2, 3].map(() =>
      limitedApp({ bucket: 'replicas', limit: 25, globalLimit: 1_000 })
    )
    const burst = await statuses(
      Array.from({ length: 90 }, (_, i) => replicas[i % 3]?.from('192.0.2.9') ?? Promise.reject())
    )
    expect(burst.filter((status) => status === 200)).toHaveLength(25)
    expect(burst.filter((status) => status === 429)).toHaveLength(65)
  })

  it('keeps its counters only for the window', async () => {
    const { from } = limitedApp({ bucket: 'ttl' })
    await from('192.0.2.1')
    const counters: string[] = []
    for await (const key of store.scan('rate:ttl:')) counters.push(key)
    expect(counters).toHaveLength(1)
    expect(await store.ttl(counters[0] ?? '')).toBeLessThanOrEqual(60)
  })

  it('refuses limits that are not positive', () => {
    expect(() => limitedApp({ bucket: 'bad', limit: 0 })).toThrow(TypeError)
    expect(() => limitedApp({ bucket: 'bad', globalLimit: 0 })).toThrow(TypeError)
  })
})
