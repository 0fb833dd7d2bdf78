import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RedisServer, startRedisServer } from './redis-server.ts'

describe('test Redis', () => {
  let server: RedisServer
  beforeAll(async () => {
    server = await startRedisServer()
  })
  afterAll(async () => {
    await server.stop()
  })

  it('keeps acknowledged writes across a crash (AOF, fsync always)', async () => {
    const before = new Redis(server.url)
    await before.set('durable', 'yes')
    before.disconnect()
    await server.restart()
    const after = new Redis(server.url)
    expect(await after.get('durable')).toBe('yes')
    after.disconnect()
  })
})
