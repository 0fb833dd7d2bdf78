import { Cluster, type Redis } from 'ioredis'
import { connectRedis } from './redis-connection.ts'
import {
  type PutOptions,
  type Store,
  StoreFull,
  StoreUnavailable,
  type WriteOperation,
} from './store.ts'

/**
 * The Redis store on the topology `REDIS_URL` names (`redis-topology.ts`). All keys get `prefix`
 * so several gateways (or test files) can share one Redis; on a Cluster the prefix is a hash tag,
 * so every multi-key command stays within one slot. The connection keeps retrying while Redis
 * restarts or fails over; commands wait in ioredis' offline queue for at most `commandTimeoutMs`,
 * so a request fails with an error instead of hanging.
 */
export function createRedisStore(url: string, prefix: string, commandTimeoutMs = 5_000): Store {
  const connection = connectRedis(url, prefix, commandTimeoutMs)
  const { redis, writer, replicated } = connection
  const k = (key: string) => connection.prefix + key

  const store: Store = {
    get: (key) => redis.get(k(key)),

    async getMany(keys) {
      if (keys.length === 0) return []
      return redis.mget(keys.map(k))
    },

    async put(key, value, options: PutOptions = {}) {
      const ttl = options.ttlSeconds ?? 0
      const args: (string | number)[] = ttl > 0 ? ['EX', ttl] : []
      if (options.onlyIfAbsent) args.push('NX')
      const result = await replicated(writer.call('SET', k(key), value, ...args))
      return result === 'OK'
    },

    async replace(key, value) {
      return (await replicated(writer.call('SET', k(key), value, 'XX', 'KEEPTTL'))) === 'OK'
    },

    take: (key) => replicated(writer.getdel(k(key))),

    async delete(...keys) {
      if (keys.length === 0) return 0
      return replicated(writer.del(...keys.map(k)))
    },

    async increment(key, ttlSeconds) {
      const results = await replicated(
        writer.multi().incr(k(key)).expire(k(key), ttlSeconds, 'NX').exec()
      )
      const [count] = results ?? []
      if (!count || count[0]) throw count?.[0] ?? new Error('increment failed')
      return Number(count[1])
    },

    async addToSet(key, member) {
      await replicated(writer.sadd(k(key), member))
    },

    async removeFromSet(key, member) {
      await replicated(writer.srem(k(key), member))
    },

    setMembers: (key) => redis.smembers(k(key)),

    async batch(operations) {
      if (operations.length === 0) return
      const multi = writer.multi()
      for (const operation of operations) addToMulti(multi, operation, k)
      const results = await replicated(multi.exec())
      const failure = results?.find(([error]) => error)
      if (failure) throw failure[0]
    },

    async takeAndWrite(key, operations) {
      const args = operations.flatMap((operation) => operationArguments(operation))
      const taken = await replicated(
        writer.eval(
          TAKE_AND_WRITE,
          1 + operations.length,
          k(key),
          ...operations.map((operation) => k(operation.key)),
          ...args
        )
      )
      return typeof taken === 'string' ? taken : null
    },

    // A Cluster's SCAN answers for one node only: every master is scanned in turn (known once
    // the Cluster answered a first command).
    async *scan(keyPrefix) {
      const pattern = `${escapeGlob(k(keyPrefix))}*`
      if (redis instanceof Cluster) await redis.ping()
      const nodes = redis instanceof Cluster ? redis.nodes('master') : [redis]
      for (const node of nodes) {
        let cursor = '0'
        do {
          const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 500)
          cursor = next
          for (const key of keys) yield key.slice(connection.prefix.length)
        } while (cursor !== '0')
      }
    },

    async ttl(key) {
      const seconds = await redis.ttl(k(key))
      return seconds >= 0 ? seconds : null
    },

    async expire(key, ttlSeconds) {
      if (ttlSeconds > 0) return (await replicated(writer.expire(k(key), ttlSeconds))) === 1
      // PERSIST also answers 0 for a key that has no TTL: ask whether the key exists.
      await replicated(writer.persist(k(key)))
      return (await writer.exists(k(key))) === 1
    },

    async appendToStream(key, entry, maxLength) {
      await replicated(writer.xadd(k(key), 'MAXLEN', '~', maxLength, '*', 'entry', entry))
    },

    async readStream(key, count, before) {
      const end = before === undefined ? '+' : `(${before}`
      const found = await redis.xrevrange(k(key), end, '-', 'COUNT', count)
      return found.map(([id, fields]) => ({ id, entry: fields[fields.indexOf('entry') + 1] ?? '' }))
    },

    async ping() {
      await redis.ping()
    },

    close: () => connection.close(),
  }
  return withUnavailability(store)
}

/**
 * Turns connection failures into `StoreUnavailable` and a full Redis into `StoreFull`, so callers
 * can tell an outage from a bug.
 */
function withUnavailability(store: Store): Store {
  const wrap =
    <A extends unknown[], R>(operation: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      try {
        return await operation(...args)
      } catch (error) {
        throw asUnavailable(error)
      }
    }
  return {
    ...store,
    get: wrap(store.get),
    getMany: wrap(store.getMany),
    put: wrap(store.put),
    replace: wrap(store.replace),
    take: wrap(store.take),
    delete: wrap(store.delete),
    increment: wrap(store.increment),
    addToSet: wrap(store.addToSet),
    removeFromSet: wrap(store.removeFromSet),
    setMembers: wrap(store.setMembers),
    batch: wrap(store.batch),
    takeAndWrite: wrap(store.takeAndWrite),
    ttl: wrap(store.ttl),
    expire: wrap(store.expire),
    appendToStream: wrap(store.appendToStream),
    readStream: wrap(store.readStream),
    ping: wrap(store.ping),
  }
}

/**
 * Also what a failover looks like from here: a demoted master refusing writes (READONLY), a
 * Cluster moving slots (CLUSTERDOWN, TRYAGAIN), no replica to confirm a write (NOREPLICAS, or
 * our own `WAIT` answering too few).
 */
const CONNECTION_FAILURE =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|Connection is closed|Command timed out|max retries|MaxRetriesPerRequest|LOADING|stream isn't writeable|READONLY|CLUSTERDOWN|TRYAGAIN|MASTERDOWN|NOREPLICAS|Failed to refresh slots|None of the sentinels|not replicated/i

/**
 * `maxmemory` reached under `noeviction`: Redis refuses the write (inside MULTI it aborts the
 * transaction, and ioredis keeps the refusals in `previousErrors`).
 */
const OUT_OF_MEMORY = /^OOM /

function asUnavailable(error: unknown): unknown {
  const text = error instanceof Error ? `${error.name} ${error.message}` : String(error)
  const causes = [error, ...((error as { previousErrors?: unknown[] })?.previousErrors ?? [])]
  if (causes.some((cause) => cause instanceof Error && OUT_OF_MEMORY.test(cause.message))) {
    return new StoreFull('the store is full (Redis maxmemory)', { cause: error })
  }
  return CONNECTION_FAILURE.test(text)
    ? new StoreUnavailable('the store is unavailable', { cause: error })
    : error
}

type Multi = ReturnType<Redis['multi']> | ReturnType<Cluster['multi']>

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
      if (operation.ttlSeconds && operation.ttlSeconds > 0) {
        // NX gives a new set (or one from before set TTLs) its lifetime, GT only ever lengthens it.
        multi.expire(k(operation.key), operation.ttlSeconds, 'NX')
        multi.expire(k(operation.key), operation.ttlSeconds, 'GT')
      } else if (operation.ttlSeconds === 0) {
        multi.persist(k(operation.key))
      }
      return
    case 'removeFromSet':
      multi.srem(k(operation.key), operation.member)
      return
  }
}

/**
 * `takeAndWrite`: KEYS[1] is taken, KEYS[2..] are written, three ARGV per write (operation,
 * value or member, TTL). The writes come before the delete, so under `maxmemory` the first of
 * them is refused before anything changed (Redis lets a script that has written go on, to keep
 * it atomic).
 */
const TAKE_AND_WRITE = `
local taken = redis.call('GET', KEYS[1])
if not taken then return false end
for i = 2, #KEYS do
  local op, value, ttl = ARGV[i * 3 - 5], ARGV[i * 3 - 4], tonumber(ARGV[i * 3 - 3])
  if op == 'put' and ttl > 0 then redis.call('SET', KEYS[i], value, 'EX', ttl)
  elseif op == 'put' then redis.call('SET', KEYS[i], value)
  elseif op == 'delete' then redis.call('DEL', KEYS[i])
  elseif op == 'addToSet' then
    redis.call('SADD', KEYS[i], value)
    if ttl > 0 then
      redis.call('EXPIRE', KEYS[i], ttl, 'NX')
      redis.call('EXPIRE', KEYS[i], ttl, 'GT')
    elseif ttl == 0 then redis.call('PERSIST', KEYS[i])
    end
  elseif op == 'removeFromSet' then redis.call('SREM', KEYS[i], value)
  end
end
redis.call('DEL', KEYS[1])
return taken
`

function operationArguments(operation: WriteOperation): [string, string, number] {
  switch (operation.op) {
    case 'put':
      return ['put', operation.value, operation.ttlSeconds ?? 0]
    case 'delete':
      return ['delete', '', 0]
    case 'addToSet':
      // -1: the set's TTL is left alone.
      return ['addToSet', operation.member, operation.ttlSeconds ?? -1]
    case 'removeFromSet':
      return ['removeFromSet', operation.member, 0]
  }
}

function escapeGlob(value: string): string {
  return value.replace(/[*?[\]\\]/g, '\\$&')
}
