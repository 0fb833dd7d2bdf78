import { Redis } from 'ioredis'
import type { PutOptions, Store, WriteOperation } from './store.ts'

/**
 * The Redis store. All keys get `prefix` so several gateways (or test files) can share one Redis.
 * The connection keeps retrying while Redis restarts; commands wait in ioredis' offline queue for
 * at most `commandTimeoutMs`, so a request fails with an error instead of hanging.
 */
export function createRedisStore(url: string, prefix: string, commandTimeoutMs = 5_000): Store {
  const redis = new Redis(url, {
    lazyConnect: false,
    maxRetriesPerRequest: 2,
    commandTimeout: commandTimeoutMs,
    retryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
  })
  // Without a listener ioredis reports connection errors as unhandled; reconnects are automatic.
  redis.on('error', () => {})
  const k = (key: string) => prefix + key

  return {
    get: (key) => redis.get(k(key)),

    async getMany(keys) {
      if (keys.length === 0) return []
      return redis.mget(keys.map(k))
    },

    async put(key, value, options: PutOptions = {}) {
      const ttl = options.ttlSeconds ?? 0
      const args: (string | number)[] = ttl > 0 ? ['EX', ttl] : []
      if (options.onlyIfAbsent) args.push('NX')
      const result = await redis.call('SET', k(key), value, ...args)
      return result === 'OK'
    },

    take: (key) => redis.getdel(k(key)),

    async delete(...keys) {
      if (keys.length === 0) return 0
      return redis.del(...keys.map(k))
    },

    async increment(key, ttlSeconds) {
      const results = await redis.multi().incr(k(key)).expire(k(key), ttlSeconds, 'NX').exec()
      const [count] = results ?? []
      if (!count || count[0]) throw count?.[0] ?? new Error('increment failed')
      return Number(count[1])
    },

    async addToSet(key, member) {
      await redis.sadd(k(key), member)
    },

    async removeFromSet(key, member) {
      await redis.srem(k(key), member)
    },

    setMembers: (key) => redis.smembers(k(key)),

    async batch(operations) {
      if (operations.length === 0) return
      const multi = redis.multi()
      for (const operation of operations) addToMulti(multi, operation, k)
      const results = await multi.exec()
      const failure = results?.find(([error]) => error)
      if (failure) throw failure[0]
    },

    async *scan(keyPrefix) {
      const pattern = `${escapeGlob(k(keyPrefix))}*`
      let cursor = '0'
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500)
        cursor = next
        for (const key of keys) yield key.slice(prefix.length)
      } while (cursor !== '0')
    },

    async ttl(key) {
      const seconds = await redis.ttl(k(key))
      return seconds >= 0 ? seconds : null
    },

    async ping() {
      await redis.ping()
    },

    async close() {
      await redis.quit().catch(() => redis.disconnect())
    },
  }
}

type Multi = ReturnType<Redis['multi']>

function addToMulti(multi: Multi, operation: WriteOperation, k: (key: string) => string): void {
  switch (operation.op) {
    case 'put':
      if (operation.ttlSeconds && operation.ttlSeconds > 0) {
        multi.set(k(operation.key), operation.value, 'EX', operation.ttlSeconds)
      } else {
        multi.set(k(operation.key), operation.value)
      }
      return
    case 'delete':
      multi.del(k(operation.key))
      return
    case 'addToSet':
      multi.sadd(k(operation.key), operation.member)
      return
    case 'removeFromSet':
      multi.srem(k(operation.key), operation.member)
      return
  }
}

function escapeGlob(value: string): string {
  return value.replace(/[*?[\]\\]/g, '\\$&')
}
