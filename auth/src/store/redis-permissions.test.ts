import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { aclUsers, OWN_PREFIX } from '../../../tests/support/redis-acl-users.ts'
import { expectStartRefused, failureOf, scanAll } from '../../../tests/support/store-failures.ts'
import { checkPermissions } from './redis-permissions.ts'
import { createRedisStore } from './redis-store.ts'
import { type Store, StoreAccessDenied } from './store.ts'

describe('a Redis user restricted by ACL rules', () => {
  const users = aclUsers()
  afterAll(() => users.close())

  async function using<T>(url: string, prefix: string, work: (store: Store) => Promise<T>) {
    const store = createRedisStore(url, prefix, 2_000)
    try {
      return await work(store)
    } finally {
      await store.close()
    }
  }

  it('serves a user with the documented rules, and leaves no probe key', async () => {
    const { url, prefix } = await users.create('+@all', '-@dangerous', '+info', OWN_PREFIX)
    await using(url, prefix, async (store) => {
      await store.ping()
      await store.checkPermissions()
      expect(await scanAll(store)).toEqual([])
      await store.put('key', 'value')
      expect(await store.take('key')).toBe('value')
    })
  })

  it('pings a user refused INFO', async () => {
    const { url, prefix } = await users.create('+@all', '-@dangerous', OWN_PREFIX)
    await using(url, prefix, async (store) => {
      await store.ping()
      await store.checkPermissions()
    })
  })

  it('names every command refused, at once', async () => {
    const { url, prefix } = await users.create('+@all', '-getdel', '-xadd', '~*')
    await using(url, prefix, async (store) => {
      const refusal = await failureOf(store.checkPermissions())
      expect(refusal).toBeInstanceOf(StoreAccessDenied)
      expect((refusal as Error).message).toMatch(
        /^the Redis user may not run GETDEL, XADD \(NOPERM\)/
      )
    })
  })

  it('names the command Redis refused, not the one it was sent with (WAIT on Sentinel)', async () => {
    const { url, prefix } = await users.create('+@all', '-wait', '~*')
    const writer = new Redis(url)
    // As on Sentinel, where each write is followed by WAIT for a replica's confirmation.
    const replicated = <T>(write: Promise<T>) =>
      Promise.all([write, writer.wait(0, 0)]).then(([result]) => result)
    try {
      const refusal = await failureOf(checkPermissions({ writer, prefix, replicated }))
      expect(refusal).toBeInstanceOf(StoreAccessDenied)
      expect((refusal as Error).message).toMatch(/^the Redis user may not run WAIT \(NOPERM\)/)
    } finally {
      writer.disconnect()
    }
  })

  it('names DEL and PING, which the store and its scripts send', async () => {
    const rules = ['+@all', '-@dangerous', '+info', '-del', '-ping', OWN_PREFIX]
    const { url, prefix } = await users.create(...rules)
    await using(url, prefix, async (store) => {
      const refusal = await failureOf(store.checkPermissions())
      expect(refusal).toBeInstanceOf(StoreAccessDenied)
      expect((refusal as Error).message).toMatch(/^the Redis user may not run DEL, PING \(NOPERM\)/)
    })
  })

  it('names the key pattern a user without the prefix needs', async () => {
    const { url, prefix } = await users.create('+@all', '~elsewhere:*')
    await using(url, prefix, async (store) => {
      const refusal = await failureOf(store.checkPermissions())
      expect(refusal).toBeInstanceOf(StoreAccessDenied)
      expect((refusal as Error).message).toContain(`its ACL needs ~${prefix}*`)
      expect(await failureOf(store.get('key'))).toBeInstanceOf(StoreAccessDenied)
    })
  })

  it('turns a command refused after the start into StoreAccessDenied naming it', async () => {
    const { url, user, prefix } = await users.create('+@all', '~*')
    await using(url, prefix, async (store) => {
      await store.checkPermissions()
      await store.put('key', 'value')
      await users.change(user, '-getdel', '-sadd', '-scan')
      const taken = await failureOf(store.take('key'))
      expect(taken).toBeInstanceOf(StoreAccessDenied)
      expect((taken as Error).message).toMatch(/^the Redis user may not run GETDEL \(NOPERM\)/)
      // A command of a script: Redis does not say which.
      const batched = await failureOf(store.batch([{ op: 'addToSet', key: 'set', member: 'm' }]))
      expect(batched).toBeInstanceOf(StoreAccessDenied)
      expect((batched as Error).message).toMatch(/may not run a command of the gateway's scripts/)
      expect(await failureOf(scanAll(store))).toBeInstanceOf(StoreAccessDenied)
    })
  })

  it("stops the server's start with one line naming the commands", async () => {
    const { url } = await users.create('+@all', '-@dangerous', '+info', '-evalsha', '~*')
    for (const pinned of [false, true]) {
      await expectStartRefused(url, /the Redis user may not run EVALSHA \(NOPERM\)/, pinned)
    }
  })
})
