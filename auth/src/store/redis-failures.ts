import { Cluster, type Redis } from 'ioredis'
import { clusterNodeIn, type SentinelSet, watchRounds } from './redis-mistakes.ts'
import { permissionRefusal } from './redis-permissions.ts'
import { StoreAccessDenied, StoreFull, StoreMisconfigured, StoreUnavailable } from './store.ts'

/**
 * What the Redis nodes last told ioredis about why a connection could not be made. A Cluster
 * fails commands with "None of startup nodes is available" and a Sentinel client with "Command
 * timed out", whether the nodes were down or refused our password: the reason only comes as an
 * event (a Cluster's `node error`, a Sentinel client's `error`). The last one is kept, as text
 * only (a refused AUTH's reply error carries the command, password included), until the
 * connection is ready again; so is the mistake the nodes' last round showed (`redis-mistakes.ts`).
 */
export class NodeReports implements NodeState {
  #last: string | undefined
  #mistake: string | undefined
  #cluster = false
  readonly #onRefusal = new Set<(refusal: StoreMisconfigured) => void>()

  /** The last reason reported since the connection was last ready. */
  get last(): string | undefined {
    return this.#last
  }

  /** What the nodes' last round said is wrong with `REDIS_URL`, if they agreed on a mistake. */
  get mistake(): string | undefined {
    return this.#mistake
  }

  get cluster(): boolean {
    return this.#cluster
  }

  /**
   * Also what keeps ioredis from reporting connection errors as unhandled. `sentinels`: those a
   * Sentinel client asks, whose every answer a mistake needs.
   */
  watch<T extends Redis | Cluster>(connection: T, sentinels?: SentinelSet): T {
    const forget = () => {
      this.#last = undefined
      this.#mistake = undefined
    }
    connection.on('ready', forget)
    if (connection instanceof Cluster) {
      this.#cluster = true
      // Its own `error` says only that every node failed; `node error` says why each did.
      connection.on('error', () => {})
      connection.on('node error', (error: unknown) => this.#report(error))
      // A node that authenticates again mends a refusal without the Cluster becoming ready anew.
      connection.on('+node', (node: Redis) => node.on('ready', forget))
    } else {
      connection.on('error', (error: unknown) => this.#report(error))
    }
    watchRounds(connection, sentinels, (mistake) => {
      this.#mistake = mistake
      if (mistake) this.#hopeless(new StoreMisconfigured(mistake))
    })
    return connection
  }

  /**
   * `operation`, or a `StoreMisconfigured` as soon as the nodes refuse our credentials or show a
   * mistake in `REDIS_URL`, for an operation issued while not connected: a Sentinel client keeps
   * it queued until its command timeout, and a start that gives the store a shorter time to
   * answer would never hear why.
   */
  untilRefused<R>(operation: Promise<R>): Promise<R> {
    const refusal = refusalIn(this.#last ?? '')
    const known = refusal ? new StoreAccessDenied(refusal) : this.#misconfigured()
    if (known) {
      operation.catch(() => {})
      return Promise.reject(known)
    }
    return new Promise<R>((resolve, reject) => {
      this.#onRefusal.add(reject)
      operation.then(resolve, reject).finally(() => this.#onRefusal.delete(reject))
    })
  }

  #report(error: unknown): void {
    this.#last = reasonOf(error)
    const refusal = refusalIn(this.#last)
    if (refusal) this.#hopeless(new StoreAccessDenied(refusal))
  }

  #misconfigured(): StoreMisconfigured | undefined {
    return this.#mistake === undefined ? undefined : new StoreMisconfigured(this.#mistake)
  }

  #hopeless(error: StoreMisconfigured): void {
    for (const refused of this.#onRefusal) refused(error)
    this.#onRefusal.clear()
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
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|Connection is closed|Command aborted|Command timed out|max retries|MaxRetriesPerRequest|LOADING|stream isn't writeable|READONLY|CLUSTERDOWN|TRYAGAIN|MASTERDOWN|NOREPLICAS|Failed to refresh slots|None of startup nodes|None of the sentinels|not replicated/i

/**
 * A redirection a Cluster client did not follow to the end: a slot moving while the command ran
 * (an `ASK` whose target has not the key yet, redirections running out). An outage of the moment
 * to a Cluster client; to a one-server client, a Cluster node it should not talk to (`clusterNodeIn`).
 */
const REDIRECTION = /\b(MOVED|ASK) \d+ \S+|Too many Cluster redirections/

/** Failures whose words do not say why: the nodes' last report does. */
const UNEXPLAINED = /None of startup nodes|Failed to refresh slots|Command timed out/i

/**
 * `maxmemory` reached under `noeviction`: Redis refuses the write, or the declared script before
 * it runs (a transaction's refusals would be in ioredis' `previousErrors`).
 */
const OUT_OF_MEMORY = /^OOM /

/** What `asUnavailable` knows of the nodes besides the failure: a `NodeReports`. */
export interface NodeState {
  /** What the nodes last said. */
  readonly last?: string | undefined
  /** What their last round showed wrong with `REDIS_URL`. */
  readonly mistake?: string | undefined
  /** Whether the client is a Cluster client. */
  readonly cluster?: boolean
}

/**
 * Turns connection failures into `StoreUnavailable`, refused credentials (or commands) into
 * `StoreAccessDenied`, a `REDIS_URL` naming the wrong kind of Redis into `StoreMisconfigured` and
 * a full Redis into `StoreFull`, so callers can tell an outage from a mistake or a bug.
 */
export function asUnavailable(error: unknown, nodes: NodeState = {}): unknown {
  if (error instanceof StoreUnavailable) return error
  const lastReport = nodes.last
  const text = error instanceof Error ? `${error.name} ${error.message}` : String(error)
  const failed = CONNECTION_FAILURE.test(text) || (nodes.cluster === true && REDIRECTION.test(text))
  // A Cluster's "Failed to refresh slots cache" holds the last node's error itself.
  const nodeError = (error as { lastNodeError?: unknown } | undefined)?.lastNodeError
  const report = lastReport ?? (nodeError ? reasonOf(nodeError) : undefined)
  const refusal = refusalIn(text) ?? (failed ? refusalIn(report ?? '') : undefined)
  // Without the reply as its cause: ioredis hangs the refused command on it, password included.
  if (refusal) return new StoreAccessDenied(refusal)
  // Without the reply as its cause either: the redirected command carries the value written.
  const misnamed =
    clusterNodeIn(error, nodes.cluster ?? false) ?? (failed ? nodes.mistake : undefined)
  if (misnamed) return new StoreMisconfigured(misnamed)
  const causes = [error, ...((error as { previousErrors?: unknown[] })?.previousErrors ?? [])]
  if (causes.some((cause) => cause instanceof Error && OUT_OF_MEMORY.test(cause.message))) {
    return new StoreFull('the store is full (Redis maxmemory)', { cause: withoutCommand(error) })
  }
  if (!failed) return withoutCommand(error)
  // Text only: the node's error may be a reply to a refused AUTH, which carries the command.
  const cause = !UNEXPLAINED.test(text)
    ? withoutCommand(error)
    : new Error(report ? `${reasonOf(error)} (last connection error: ${report})` : reasonOf(error))
  return new StoreUnavailable('the store is unavailable', { cause })
}

/**
 * A reply error without the command ioredis hangs on it (and on each error of a transaction): its
 * arguments are the keys and values written, such as sealed tokens and records, and an error
 * reaches the log whole. Name, message and stack stay, for whoever tells errors apart by them.
 */
function withoutCommand(error: unknown): unknown {
  if (!(error instanceof Error) || !('command' in error || 'previousErrors' in error)) return error
  return Object.assign(new Error(error.message), { name: error.name, stack: error.stack })
}

/** Redis refusing the credentials of `REDIS_URL`, by the first word of its reply. */
const ACCESS_DENIED: Readonly<Record<string, string>> = {
  WRONGPASS: 'wrong Redis password: Redis refused the user and password it was given (WRONGPASS)',
  NOAUTH: 'missing Redis password: Redis requires one and was given none (NOAUTH)',
}

/** The Sentinels refusing `sentinel_password`: their password is not the data nodes'. */
const SENTINEL_ACCESS_DENIED: Readonly<Record<string, string>> = {
  WRONGPASS:
    'wrong Sentinel password: the Sentinels refused the sentinel_password they were given (WRONGPASS)',
  NOAUTH:
    'missing Sentinel password: the Sentinels require a sentinel_password and were given none (NOAUTH)',
}

/** Credentials refused, or, to a user Redis knows, a command or key (`redis-permissions.ts`). */
function refusalIn(text: string): string | undefined {
  const code = /\b(WRONGPASS|NOAUTH)\b/.exec(text)?.[1]
  if (!code) return permissionRefusal(text)
  return (/\bsentinels?\b/i.test(text) ? SENTINEL_ACCESS_DENIED : ACCESS_DENIED)[code]
}

/** One line; a connection refused on every address of a name is an AggregateError without one. */
function reasonOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const code = (error as { code?: unknown }).code
  const line = error.message.split('\n')[0]?.trim()
  return line || (typeof code === 'string' ? code : error.name)
}

/**
 * Why the store failed, in one line for an operator: the words of the deepest cause. A connection
 * that could not be made at all reaches us only as "retried too often", which says nothing.
 */
export function storeFailureReason(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  let deepest = error
  while (deepest.cause instanceof Error) deepest = deepest.cause
  if (/max retries per request/i.test(deepest.message)) {
    return 'no connection could be made (refused, unreachable or unknown host)'
  }
  return deepest.message.split('\n')[0]?.trim() || deepest.name
}
