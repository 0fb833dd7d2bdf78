import { inspect } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from '../../../tests/support/free-port.ts'
import { startRedisOnPort } from '../../../tests/support/redis-topologies.ts'
import { failureOf, failuresAt, scanAll } from '../../../tests/support/store-failures.ts'
import { createRedisStore } from './redis-store.ts'
import { StoreAccessDenied, StoreUnavailable } from './store.ts'

const PASSWORD = 'right-Secret-7'
const WRONG = 'wrong-Secret-9'

describe('a Redis that is not there', () => {
  it('fails a scan with StoreUnavailable, as every other operation', async () => {
    const store = createRedisStore(`redis://127.0.0.1:${await freePort()}`, 'gone:', 1_000)
    try {
      expect(await failureOf(scanAll(store))).toBeInstanceOf(StoreUnavailable)
      expect(await failureOf(store.get('key'))).toBeInstanceOf(StoreUnavailable)
    } finally {
      await store.close()
    }
  })
})

describe('a Redis that refuses the password of REDIS_URL', () => {
  let port: number
  let redis: { stop(): Promise<void> }
  beforeAll(async () => {
    port = await freePort()
    redis = await startRedisOnPort(port, { password: PASSWORD })
  })
  afterAll(() => redis.stop())

  it('names a wrong password, without the password, and no cause that holds it', async () => {
    for (const url of [
      `redis://:${WRONG}@127.0.0.1:${port}`,
      `redis://nobody:${WRONG}@127.0.0.1:${port}`,
    ]) {
      for (const refusal of await failuresAt(url)) {
        expect(refusal).toBeInstanceOf(StoreAccessDenied)
        expect(refusal).toBeInstanceOf(StoreUnavailable)
        const { message, cause } = refusal as Error
        expect(message).toMatch(/^wrong Redis password: .*\(WRONGPASS\)$/)
        expect(cause).toBeUndefined()
        expect(inspect(refusal, { depth: 10 })).not.toContain(WRONG)
      }
    }
  })

  it('names a missing password', async () => {
    for (const refusal of await failuresAt(`redis://127.0.0.1:${port}`)) {
      expect(refusal).toBeInstanceOf(StoreAccessDenied)
      expect((refusal as Error).message).toMatch(/^missing Redis password: .*\(NOAUTH\)$/)
    }
  })

  it('serves with the right password', async () => {
    const store = createRedisStore(`redis://:${PASSWORD}@127.0.0.1:${port}`, 'served:')
    try {
      await store.put('key', 'value')
      expect(await scanAll(store)).toEqual(['key'])
    } finally {
      await store.close()
    }
  })
})
