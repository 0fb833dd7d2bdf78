import { createHash } from 'node:crypto'
import { Cluster, type Redis } from 'ioredis'
import { StoreAccessDenied, StoreUnavailable } from './store.ts'

/**
 * A Redis ACL user (`REDIS_URL`'s user) not allowed a command the gateway sends, or its keys: Redis
 * answers `NOPERM`, or, for a command a script runs, an `ERR` saying the user executing the script
 * cannot run it or cannot reach its keys.
 */
const PERMISSION_REFUSED =
  /\bNOPERM\b|user executing the script can't (run this command|access at least one of the keys)/

const COMMAND_REFUSED = /no permissions to run the '([^']+)' command/

export function isPermissionRefused(text: string): boolean {
  return PERMISSION_REFUSED.test(text)
}

/** The refusal of one command, in a line naming what to grant (docs/operations.md). */
export function permissionRefusal(text: string): string | undefined {
  if (!PERMISSION_REFUSED.test(text)) return undefined
  const command = COMMAND_REFUSED.exec(text)?.[1]
  if (command) return deniedCommands([command.toUpperCase()])
  if (/keys/.test(text)) return deniedKeys()
  return `${USER} may not run a command of the gateway's scripts (NOPERM): ${REMEDY}`
}

const USER = 'the Redis user'
const REMEDY = 'grant the commands and key pattern docs/operations.md lists (Redis ACL users)'

function deniedCommands(commands: readonly string[]): string {
  return `${USER} may not run ${commands.join(', ')} (NOPERM): ${REMEDY}`
}

function deniedKeys(prefix?: string): string {
  const pattern = prefix === undefined ? 'its key prefix' : `~${prefix}*`
  return `${USER} may not use the gateway's keys (NOPERM): its ACL needs ${pattern}; ${REMEDY}`
}

/** What the probe needs of a `RedisConnection` (named apart: that module reports through this one). */
interface ProbedConnection {
  readonly writer: Redis | Cluster
  readonly prefix: string
  replicated<T>(write: Promise<T>): Promise<T>
}

const PROBE_SCRIPT = 'return 1'
const PROBE_SCRIPT_SHA = createHash('sha1').update(PROBE_SCRIPT).digest('hex')
/** Long enough to outlive the probe; short enough that a probe cut halfway leaves nothing. */
const PROBE_TTL_SECONDS = 60

/**
 * Sends every command the store uses once, on probe keys of its own under the prefix (removed
 * after), and fails with `StoreAccessDenied` naming all those Redis refused: a user missing one
 * is told at start rather than by requests failing one path at a time. `INFO` is not needed (the
 * store does without when refused). The data nodes each keep their own ACL: this asks the master.
 */
export async function checkPermissions(connection: ProbedConnection): Promise<void> {
  const { writer, prefix } = connection
  const key = (name: string) => `${prefix}permission-probe:${name}`
  const [value, count, set, stream] = ['value', 'count', 'set', 'stream'].map(key) as [
    string,
    string,
    string,
    string,
  ]
  const ttl = PROBE_TTL_SECONDS
  const probes: [string, () => Promise<unknown>][] = [
    ['SET', () => writer.set(value, 'probe', 'EX', ttl)],
    // Sentinel's WAIT, whose answer is no concern here: a start reads, and must not wait for a
    // replica to be up, only know it may ask (a single server and a Cluster send none).
    ['WAIT', () => connection.replicated(Promise.resolve()).catch(unlessNotReplicated)],
    ['GET', () => writer.get(value)],
    ['MGET', () => writer.mget(value)],
    ['EXISTS', () => writer.exists(value)],
    ['TTL', () => writer.ttl(value)],
    ['PERSIST', () => writer.persist(value)],
    // After PERSIST: the key has a lifetime again should neither GETDEL nor DEL be allowed.
    ['EXPIRE', () => writer.expire(value, ttl)],
    ['GETDEL', () => writer.getdel(value)],
    ['DEL', () => writer.del(value)],
    ['INCRBY', () => writer.incrby(count, 1)],
    ['SADD', () => writer.sadd(set, 'probe')],
    ['SMEMBERS', () => writer.smembers(set)],
    ['SREM', () => writer.srem(set, 'probe')],
    ['XADD', () => writer.xadd(stream, 'MAXLEN', '~', 1, '*', 'entry', 'probe')],
    ['XREVRANGE', () => writer.xrevrange(stream, '+', '-', 'COUNT', 1)],
    ['EVAL', () => writer.eval(PROBE_SCRIPT, 1, value)],
    // Run after EVAL, so the script is known: a NOSCRIPT is not a refusal.
    ['EVALSHA', () => writer.evalsha(PROBE_SCRIPT_SHA, 1, value)],
    ['SCAN', () => scanner(writer).scan('0', 'MATCH', `${prefix}*`, 'COUNT', 1)],
    ['PING', () => writer.ping()],
  ]
  // In order on one connection, so each key exists when its reads come.
  const outcomes = await Promise.allSettled(probes.map(([, probe]) => probe()))
  await Promise.allSettled([writer.expire(count, ttl), writer.expire(stream, ttl)])
  await writer.del(value, count, set, stream).catch(() => undefined)
  // An outage or a mistake of another kind is said as such (a NOSCRIPT is no refusal).
  const failed = outcomes.find(
    (outcome): outcome is PromiseRejectedResult =>
      outcome.status === 'rejected' &&
      !isPermissionRefused(messageOf(outcome.reason)) &&
      !/^NOSCRIPT/.test(messageOf(outcome.reason))
  )
  if (failed) throw failed.reason
  const refused = outcomes.flatMap((outcome, index) => {
    if (outcome.status === 'fulfilled') return []
    const message = messageOf(outcome.reason)
    if (!isPermissionRefused(message)) return []
    // Redis names the command it refused: the probe's own, or one sent with it (Sentinel's WAIT).
    const named = COMMAND_REFUSED.exec(message)?.[1]?.toUpperCase()
    return [{ command: named ?? probes[index]?.[0] ?? '', keys: /keys/.test(message) }]
  })
  const commands = [
    ...new Set(refused.filter((refusal) => !refusal.keys).map((refusal) => refusal.command)),
  ]
  if (commands.length > 0) throw new StoreAccessDenied(deniedCommands(commands))
  if (refused.length > 0) throw new StoreAccessDenied(deniedKeys(prefix))
}

/** A Cluster scans node by node: the probe asks one master. */
function scanner(writer: Redis | Cluster): Redis | Cluster {
  return writer instanceof Cluster ? (writer.nodes('master')[0] ?? writer) : writer
}

/** No replica confirmed the probe's WAIT in time: an answer, so the user may send it. */
function unlessNotReplicated(error: unknown): void {
  if (!(error instanceof StoreUnavailable)) throw error
}

function messageOf(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason)
}
