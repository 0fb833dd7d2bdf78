import { Cluster, Redis } from 'ioredis'
import { settlesWithin } from '../../../mcp-services/src/stop-signals.ts'
import { NodeReports } from './redis-failures.ts'
import { effectiveKeyPrefix, parseRedisUrl } from './redis-topology.ts'
import { StoreUnavailable } from './store.ts'

/**
 * The connections of a Redis store. `redis` serves reads; `writer` serves writes, and
 * `replicated` resolves a write only once it is safe by the rules of the topology.
 */
export interface RedisConnection {
  readonly redis: Redis | Cluster
  readonly writer: Redis | Cluster
  /** The key prefix in use (hash-tagged on a Cluster). */
  readonly prefix: string
  /** Why the nodes last failed or refused us, which ioredis' own errors may not say. */
  readonly reports: NodeReports
  /** Whether every connection is up: a command sent now does not wait for one to be made. */
  ready(): boolean
  replicated<T>(write: Promise<T>): Promise<T>
  /** A command was answered (with a result or an error reply): the connection is alive. */
  answered(): void
  /** A command timed out: after long enough a silence, the connections are made again. */
  timedOut(): void
  close(): Promise<void>
}

/**
 * How long a write on Sentinel waits for a replica to confirm it. Without a confirmation it is
 * answered as an outage (503): an acknowledged write must survive the master's death.
 */
const REPLICA_WAIT_MS = 2_000

export function connectRedis(
  url: string,
  prefix: string,
  commandTimeoutMs: number
): RedisConnection {
  const topology = parseRedisUrl(url)
  const common = {
    lazyConnect: false,
    // Commands issued in one event-loop turn leave in one write: under load each request's
    // round trips share socket writes and Redis reads instead of a system call each.
    enableAutoPipelining: true,
    maxRetriesPerRequest: 2,
    commandTimeout: commandTimeoutMs,
    // A command sent on a connection that then broke or went silent was answered already, with
    // 503, once its timeout passed. Sent again on the new connection, it would be carried out
    // after its request was told it failed: a sign-in's pending request taken, a code redeemed,
    // by nobody. Such commands fail instead; commands not yet sent wait for the connection.
    autoResendUnfulfilledCommands: false,
    retryStrategy: (attempt: number) => Math.min(attempt * 100, 2_000),
  }
  const keyPrefix = effectiveKeyPrefix(topology, prefix)
  const reports = new NodeReports()
  const silence = { timeoutMs: commandTimeoutMs, silenceMs: commandTimeoutMs * SILENT_TIMEOUTS }
  if (topology.kind === 'server') {
    return single(reports.watch(new Redis(url, common)), keyPrefix, reports, silence)
  }
  const { username, password } = topology.credentials
  if (topology.kind === 'cluster') {
    const cluster = new Cluster(
      topology.nodes.map(({ host, port }) => ({ host, port })),
      {
        scaleReads: 'master',
        enableAutoPipelining: true,
        // What the start and /ready send first goes on its own (`cluster-ping.ts`), and so does
        // every read. While a slot migrates, a pipeline in which one command meets an ASK (its
        // key moved already) and the others read is sent again whole to the node the slot moves
        // to, where keys not moved yet read as absent: a registered client looked up then was
        // "unknown" (401 invalid_client, and the client registers again). Writes alone in a
        // pipeline are sent again only when each met the same ASK, so each belongs there.
        autoPipeliningIgnoredCommands: ['ping', ...CLUSTER_READS],
        maxRedirections: 16,
        retryDelayOnFailover: 200,
        retryDelayOnClusterDown: 200,
        clusterRetryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
        // The Cluster pipelines for its nodes. A node's own pipelining would hold back the
        // `ASKING` the Cluster sends it before a command that met an ASK, which then comes back
        // ASK again until the redirections run out.
        redisOptions: { ...common, enableAutoPipelining: false, username, password },
      }
    )
    return single(reports.watch(cluster), keyPrefix, reports, silence)
  }
  const options = {
    ...common,
    sentinels: topology.sentinels.map(({ host, port }) => ({ host, port })),
    name: topology.masterName,
    db: topology.db,
    username,
    password,
    sentinelPassword: topology.sentinelPassword,
    // Reconnect to the new master as soon as a Sentinel announces it, not at the next error.
    failoverDetector: true,
    // A demoted master refuses writes: find the master again and resend the command.
    reconnectOnError: (error: Error) => (/READONLY/.test(error.message) ? 2 : false),
  }
  const sentinels = {
    addresses: topology.sentinels.map(({ host, port }) => `${host}:${port}`),
    masterName: topology.masterName,
  }
  const redis = reports.watch(new Redis(options), sentinels)
  // WAIT blocks the connection it is sent on: writes get their own, so reads never queue
  // behind a write waiting for its replica.
  const writer = reports.watch(new Redis(options), sentinels)
  const ready = () => redis.status === 'ready' && writer.status === 'ready'
  return {
    redis,
    writer,
    prefix: keyPrefix,
    reports,
    ready,
    ...silenceWatch([redis, writer], silence, ready),
    async replicated(write) {
      const [result, replicas] = await Promise.all([write, writer.wait(1, REPLICA_WAIT_MS)])
      if (replicas < 1) {
        throw new StoreUnavailable('the write was not replicated: no replica confirmed it in time')
      }
      return result
    },
    async close() {
      await Promise.all([closeConnection(redis), closeConnection(writer)])
    },
  }
}

function single(
  redis: Redis | Cluster,
  prefix: string,
  reports: NodeReports,
  silence: Silence
): RedisConnection {
  const ready = () => redis.status === 'ready'
  return {
    redis,
    writer: redis,
    prefix,
    reports,
    ready,
    replicated: (write) => write,
    ...silenceWatch([redis], silence, ready),
    close: () => closeConnection(redis),
  }
}

/** The read commands the store sends (`redis-store.ts`): never pipelined on a Cluster. */
const CLUSTER_READS = ['get', 'mget', 'ttl', 'exists', 'smembers', 'xrevrange', 'info']

/** How many command timeouts' worth of silence a connection that believes itself up is given. */
const SILENT_TIMEOUTS = 2

interface Silence {
  /** The command timeout: a command that times out now was sent this long ago. */
  readonly timeoutMs: number
  /** How long commands may go unanswered before the connections are made again. */
  readonly silenceMs: number
}

/**
 * A connection that stops answering without closing (a host gone, a stale NAT or conntrack entry
 * after Redis moved) would otherwise wait for the kernel to give up retransmitting, about 15
 * minutes, answering 503 all along. Once commands on connections that believe themselves up have
 * gone unanswered for `silenceMs`, counted from the first of them sent, the connections are
 * dropped and made again. A shorter stall keeps them, so what was sent still runs in the order
 * it was sent (the guarded write after a rotation relies on it).
 */
function silenceWatch(
  connections: readonly (Redis | Cluster)[],
  { timeoutMs, silenceMs }: Silence,
  ready: () => boolean
): Pick<RedisConnection, 'answered' | 'timedOut'> {
  // When the oldest command not answered since the last answer was sent; undefined: none.
  let unansweredSince: number | undefined
  return {
    answered() {
      unansweredSince = undefined
    },
    timedOut() {
      // Commands queued while ioredis makes the connection again are its own business.
      if (!ready()) return
      const now = Date.now()
      unansweredSince ??= now - timeoutMs
      if (now - unansweredSince < silenceMs) return
      unansweredSince = undefined
      for (const connection of connections) connection.disconnect(true)
    },
  }
}

/**
 * `QUIT` lets the replies already asked for arrive; `disconnect()` then ends what a connector
 * keeps beside the data connection, which `QUIT` leaves open: a Sentinel client's failover watch
 * (its subscriptions to every Sentinel) would otherwise keep the process alive for ever.
 */
async function closeConnection(connection: Redis | Cluster): Promise<void> {
  // QUIT to a store that is down can wait for ever (a Cluster with no node up does).
  await settlesWithin(connection.quit(), QUIT_WAIT_MS)
  connection.disconnect()
}

/** How long `QUIT` may wait for its answer before the connection is dropped. */
const QUIT_WAIT_MS = 1_000
