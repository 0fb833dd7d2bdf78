import { Cluster, ReplyError } from 'ioredis'
import { pingCluster } from './cluster-ping.ts'
import { connectRedis, type RedisConnection } from './redis-connection.ts'
import { asUnavailable, type NodeReports } from './redis-failures.ts'
import { clusterNodeInInfo, evictionRiskIn, missingDatabase } from './redis-mistakes.ts'
import { checkPermissions, isPermissionRefused } from './redis-permissions.ts'
import { scriptArguments, withScripts } from './redis-scripts.ts'
import { type PutOptions, type Store, StoreMisconfigured, type WriteOperation } from './store.ts'

/**
 * The Redis store on the topology `REDIS_URL` names (`redis-topology.ts`). All keys get `prefix`
 * so several gateways (or test files) can share one Redis; on a Cluster the prefix is a hash tag,
 * so every multi-key command stays within one slot. The connection keeps retrying while Redis
 * restarts or fails over; a command fails once unanswered for `commandTimeoutMs` after it is sent,
 * so a request fails with an error instead of hanging. (Commands of one connection go in one
 * pipeline at a time: those queued behind a stalled one are sent when it fails, and may wait up to
 * twice that, until the silence watch makes the connection again; docs/operations.md.)
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

    async increment(key, ttlSeconds, by = 1) {
      return Number(await replicated(scripts.gatewayIncrement(1, k(key), ttlSeconds, by)))
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
      if (guard && 'ifUnchanged' in guard) {
        const { key, value } = guard.ifUnchanged
        const guarded = [k(key), ...keys]
        const written = scripts.gatewayWriteAllIfUnchanged(
          guarded.length,
          ...guarded,
          ...args,
          value
        )
        return (await replicated(written)) === 1
      }
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

    async markAndTake(markers, key) {
      const script = scripts.gatewayMarkAndTake(
        1 + markers.length,
        k(key),
        ...markers.map((marker) => k(marker.key)),
        ...markers.flatMap((marker) => [marker.value, marker.ttlSeconds])
      )
      const [taken, ...marked] = (await replicated(script)) as [string | null, ...number[]]
      return {
        marked: marked.map((written) => written === 1),
        taken: typeof taken === 'string' ? taken : null,
      }
    },

    async pace(key, now, pacing) {
      const { intervalSeconds, backoffSeconds, ttlSeconds } = pacing
      const paced = scripts.gatewayPace(1, k(key), now, intervalSeconds, backoffSeconds, ttlSeconds)
      return (await replicated(paced)) === 1
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

    async appendToStream(key, entries, maxLength) {
      if (entries.length === 0) return
      await replicated(scripts.gatewayAppendAll(1, k(key), maxLength, ...entries))
    },

    async readStream(key, count, before) {
      const end = before === undefined ? '+' : `(${before}`
      const found = await redis.xrevrange(k(key), end, '-', 'COUNT', count)
      return found.map(([id, fields]) => ({ id, entry: fields[fields.indexOf('entry') + 1] ?? '' }))
    },

    async ping() {
      if (redis instanceof Cluster) return pingCluster(redis, commandTimeoutMs)
      // A ping that also asks the server whether it is a Cluster's node, which would answer a
      // one-server client only for its own slots: the start and `/ready` say so. A user not
      // allowed INFO (a managed Redis, a strict ACL) is only pinged.
      const info = await redis.info('cluster').catch((error: unknown) => {
        if (error instanceof Error && isPermissionRefused(error.message)) return undefined
        throw error
      })
      if (info === undefined) await redis.ping()
      const mistake = info === undefined ? undefined : clusterNodeInInfo(info)
      if (mistake) throw new StoreMisconfigured(mistake)
      // The database named is selected again: one the server refused would leave us in db 0.
      const db = redis.options.db ?? 0
      if (db !== 0) {
        await redis.select(db).catch((error: unknown) => {
          const missing = missingDatabase(error, db)
          throw missing ? new StoreMisconfigured(missing) : error
        })
      }
    },

    checkPermissions: () => checkPermissions(connection),

    async evictionRisk() {
      if (redis instanceof Cluster) await redis.ping()
      const nodes = redis instanceof Cluster ? redis.nodes('master') : [redis]
      for (const node of nodes) {
        const risk = evictionRiskIn(await node.info('memory'))
        if (risk) return risk
      }
      return undefined
    },

    close: () => connection.close(),
  }
  return withUnavailability(store, connection)
}

const COMMAND_TIMED_OUT = /Command timed out/

/** Maps every failure of `store` by `asUnavailable` (`redis-failures.ts`). */
function withUnavailability(store: Store, connection: RedisConnection): Store {
  const { reports } = connection
  const wrap =
    <A extends unknown[], R>(operation: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      try {
        const pending = operation(...args)
        const result = await (connection.ready() ? pending : reports.untilRefused(pending))
        connection.answered()
        return result
      } catch (error) {
        if (error instanceof ReplyError) connection.answered()
        else if (error instanceof Error && COMMAND_TIMED_OUT.test(error.message)) {
          connection.timedOut()
        }
        throw asUnavailable(error, reports)
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
    markAndTake: wrap(store.markAndTake),
    pace: wrap(store.pace),
    scan: (keyPrefix) => mapErrors(scanOnceConnected(store, connection, keyPrefix), reports),
    ttl: wrap(store.ttl),
    expire: wrap(store.expire),
    appendToStream: wrap(store.appendToStream),
    readStream: wrap(store.readStream),
    ping: wrap(store.ping),
    checkPermissions: wrap(store.checkPermissions),
    evictionRisk: wrap(store.evictionRisk),
  }
}

/** A scan's first page waits for the connection: hear of a refusal as every other command does. */
async function* scanOnceConnected(
  store: Store,
  connection: RedisConnection,
  keyPrefix: string
): AsyncIterable<string> {
  if (!connection.ready()) await connection.reports.untilRefused(store.ping())
  yield* store.scan(keyPrefix)
}

async function* mapErrors<T>(iterable: AsyncIterable<T>, reports: NodeReports): AsyncIterable<T> {
  try {
    yield* iterable
  } catch (error) {
    throw asUnavailable(error, reports)
  }
}

function escapeGlob(value: string): string {
  return value.replace(/[*?[\]\\]/g, '\\$&')
}

/** A write that only frees memory. */
function isRemoval(operation: WriteOperation): boolean {
  return operation.op === 'delete' || operation.op === 'removeFromSet'
}
