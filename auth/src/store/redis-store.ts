import { Cluster } from 'ioredis'
import { connectRedis } from './redis-connection.ts'
import { scriptArguments, withScripts } from './redis-scripts.ts'
import {
  type PutOptions,
  type Store,
  StoreAccessDenied,
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
  const scripts = withScripts(writer)
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
      return Number(await replicated(scripts.gatewayIncrement(1, k(key), ttlSeconds)))
    },

    async addToSet(key, member) {
      await replicated(writer.sadd(k(key), member))
    },

    async removeFromSet(key, member) {
      await replicated(writer.srem(k(key), member))
    },

    setMembers: (key) => redis.smembers(k(key)),

    async batch(operations, guard) {
      const { keys, args } = scriptArguments(operations, k)
      if (guard) {
        const guarded = [k(guard.unlessExists), ...keys]
        return (
          (await replicated(scripts.gatewayWriteAllUnless(guarded.length, ...guarded, ...args))) ===
          1
        )
      }
      if (operations.length === 0) return true
      const script = operations.every(isRemoval) ? 'gatewayRemoveAll' : 'gatewayWriteAll'
      await replicated(scripts[script](keys.length, ...keys, ...args))
      return true
    },

    async takeAndWrite(key, operations) {
      const { keys, args } = scriptArguments(operations, k)
      const taken = await replicated(
        scripts.gatewayTakeAndWrite(1 + keys.length, k(key), ...keys, ...args)
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
    scan: (keyPrefix) => mapErrors(store.scan(keyPrefix)),
    ttl: wrap(store.ttl),
    expire: wrap(store.expire),
    appendToStream: wrap(store.appendToStream),
    readStream: wrap(store.readStream),
    ping: wrap(store.ping),
  }
}

async function* mapErrors<T>(iterable: AsyncIterable<T>): AsyncIterable<T> {
  try {
    yield* iterable
  } catch (error) {
    throw asUnavailable(error)
  }
}

/**
 * Commands auto-pipelined together are aborted, not retried, when their connection drops (one of
 * them may have run): the caller answers 503 and the client retries.
 *
 * Also what a failover looks like from here: a demoted master refusing writes (READONLY), a
 * Cluster moving slots (CLUSTERDOWN, TRYAGAIN), no replica to confirm a write (NOREPLICAS, or
 * our own `WAIT` answering too few).
 */
const CONNECTION_FAILURE =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|Connection is closed|Command aborted|Command timed out|max retries|MaxRetriesPerRequest|LOADING|stream isn't writeable|READONLY|CLUSTERDOWN|TRYAGAIN|MASTERDOWN|NOREPLICAS|Failed to refresh slots|None of the sentinels|not replicated/i

/**
 * `maxmemory` reached under `noeviction`: Redis refuses the write, or the declared script before
 * it runs (a transaction's refusals would be in ioredis' `previousErrors`).
 */
const OUT_OF_MEMORY = /^OOM /

/** Redis refusing the credentials of `REDIS_URL`, by the first word of its reply. */
const ACCESS_DENIED: Readonly<Record<string, string>> = {
  WRONGPASS: 'wrong Redis password: Redis refused the user and password it was given (WRONGPASS)',
  NOAUTH: 'missing Redis password: Redis requires one and was given none (NOAUTH)',
}

function asUnavailable(error: unknown): unknown {
  const text = error instanceof Error ? `${error.name} ${error.message}` : String(error)
  const refusal = ACCESS_DENIED[/\b(WRONGPASS|NOAUTH)\b/.exec(text)?.[1] ?? '']
  // Without the reply as its cause: ioredis hangs the refused command on it, password included.
  if (refusal) return new StoreAccessDenied(refusal)
  const causes = [error, ...((error as { previousErrors?: unknown[] })?.previousErrors ?? [])]
  if (causes.some((cause) => cause instanceof Error && OUT_OF_MEMORY.test(cause.message))) {
    return new StoreFull('the store is full (Redis maxmemory)', { cause: error })
  }
  return CONNECTION_FAILURE.test(text)
    ? new StoreUnavailable('the store is unavailable', { cause: error })
    : error
}

function escapeGlob(value: string): string {
  return value.replace(/[*?[\]\\]/g, '\\$&')
}

/** A write that only frees memory. */
function isRemoval(operation: WriteOperation): boolean {
  return operation.op === 'delete' || operation.op === 'removeFromSet'
}
