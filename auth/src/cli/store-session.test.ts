import { Redis } from 'ioredis'
import { describe, expect, inject, it } from 'vitest'
import { startRedisServer } from '../../../tests/support/redis-server.ts'
import { StoreFailure, withoutPasswords, withStore } from './store-session.ts'

const PASSWORD = 'hunter2-Secret'

describe('a store the admin CLI cannot use', () => {
  it('says why a store that answers refuses the command (a wrong password)', async () => {
    const url = inject('redisUrl').replace('redis://', `redis://nobody:${PASSWORD}@`)
    const failure = await withStore({ url, keyPrefix: 'never:' }, () => Promise.resolve()).catch(
      (error: unknown) => error
    )
    expect(failure).toBeInstanceOf(StoreFailure)
    expect((failure as Error).message).toMatch(
      /^the store at redis:\/\/nobody:\*\*\*@[\d.:]+ is unavailable: wrong Redis password: .*\(WRONGPASS\)$/
    )
    expect((failure as Error).message).not.toContain(PASSWORD)
  })

  it('says a full store is full (maxmemory, noeviction)', async () => {
    const server = await startRedisServer()
    const control = new Redis(server.url)
    try {
      await control.config('SET', 'maxmemory-policy', 'noeviction')
      await control.config('SET', 'maxmemory', '1')
      const failure = await withStore({ url: server.url, keyPrefix: 'full:' }, (store) =>
        store.put('key', 'value')
      ).catch((error: unknown) => error)
      expect(failure).toBeInstanceOf(StoreFailure)
      expect((failure as Error).message).toBe(
        `the store at ${server.url} is full: OOM command not allowed when used memory > 'maxmemory'.`
      )
    } finally {
      control.disconnect()
      await server.stop()
    }
  })

  it('hands errors that are not the store’s on as they are (a bug keeps its stack)', async () => {
    const bug = new TypeError('a bug')
    await expect(
      withStore({ url: inject('redisUrl'), keyPrefix: 'never:' }, () => Promise.reject(bug))
    ).rejects.toBe(bug)
  })
})

describe('a store URL as it is shown', () => {
  it('masks the password of the user info and of the Sentinels', () => {
    expect(withoutPasswords('redis://:p%40ss@host:6379/0')).toBe('redis://:***@host:6379/0')
    expect(withoutPasswords('rediss://user:p@ss@host:6379')).toBe('rediss://user:***@host:6379')
    expect(withoutPasswords('redis://user@host:6379')).toBe('redis://user@host:6379')
    expect(
      withoutPasswords('redis-sentinel://:pw@h1:26379,h2:26379/main?db=1&sentinel_password=s3')
    ).toBe('redis-sentinel://:***@h1:26379,h2:26379/main?db=1&sentinel_password=***')
    expect(withoutPasswords('redis-cluster://a:b@h1:7000,h2:7001')).toBe(
      'redis-cluster://a:***@h1:7000,h2:7001'
    )
  })
})
