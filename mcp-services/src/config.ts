import { hostname } from 'node:os'
import { resolve } from 'node:path'
import { serviceCatalog } from './catalog.ts'
import {
  type ChildUser,
  childUserProblem,
  parseChildUser,
  parseUidRange,
  readPasswd,
  type UidRange,
} from './child-user.ts'
import { environmentSchema, LOOPBACK_HOSTS, type ReplicaPeer } from './config-environment.ts'
import type { CrashRateLimits } from './crash-rate.ts'
import { withoutEmptyValues } from './environment.ts'
import { type GatewayPolicy, loadPolicyFile } from './policy/policy-format.ts'

export type { ReplicaPeer }

/**
 * Configuration of one bridged service, from the environment, validated once at start-up. This
 * and `config-environment.ts` are the only modules of the package that read environment
 * variables; everything else receives the frozen {@link BridgeConfig}.
 */
export interface BridgeConfig {
  readonly port: number
  readonly host: string
  readonly logLevel: string
  /** `json` or `pretty`; unset: pretty when stdout is a terminal, else JSON. */
  readonly logFormat: 'json' | 'pretty' | undefined
  /** Refusal lines of each kind written a second (`REFUSAL_LOG_RATE`, `bounded-log.ts`). */
  readonly refusalLogRate: number
  /** A session with no request and nothing in flight for this long is ended. */
  readonly idleTimeoutMs: number
  /** How often idle sessions are looked for. */
  readonly sweepIntervalMs: number
  /**
   * How long a child may take to answer `initialize` (the bridge's for a pooled child, the
   * client's for a session); past it the child is ended, the request refused and the user's
   * crash budget spent. Fixed at 60 s, the SDK's own request timeout.
   */
  readonly childStartTimeoutMs: number
  readonly maxSessions: number
  readonly maxSessionsPerUser: number
  /**
   * A user's requests handled at once, from arrival to the start of their answer
   * (`MAX_REQUESTS_PER_USER`): each may hold a body of up to `maxRequestBodyBytes` while it
   * arrives, so one account cannot fill the bridge's memory with slow bodies.
   */
  readonly maxRequestsPerUser: number
  /**
   * The body bytes of a user's requests handled at once, as declared
   * (`MAX_REQUEST_BYTES_PER_USER`), and of everyone's, as they arrive (`MAX_REQUEST_BYTES`): a
   * body is held several times over while it is handled (requests-in-hand.ts).
   */
  readonly maxRequestBytesPerUser: number
  readonly maxRequestBytes: number
  /**
   * How many of a user's children may end by themselves (`CHILD_CRASHES_PER_USER`, regained over
   * `CHILD_CRASH_WINDOW`) before the user's requests that would start another are refused: a
   * server that dies at start must not turn each request into a new process (crash-rate.ts).
   */
  readonly childCrashRate: CrashRateLimits
  /** Cross-origin browser origins let through (plus same-origin); `'*'`: any. */
  readonly allowedOrigins: readonly string[] | '*'
  /** Host header names accepted (DNS-rebinding protection); `'*'`: any. */
  readonly allowedHosts: readonly string[] | '*'
  readonly dataDir: string
  /**
   * The user the children run as (`CHILD_USER`), kept apart from the bridge (child-user.ts);
   * undefined: the bridge's own user.
   */
  readonly childUser: ChildUser | undefined
  /**
   * `CHILD_UID_RANGE`: an id of its own for each child of a service without per-user data
   * (child-user.ts); undefined: every child runs as `childUser`.
   */
  readonly childUidRange: UidRange | undefined
  /** Requests without `X-User-Id` run as user `anonymous` instead of being refused. */
  readonly allowAnonymous: boolean
  /** `GITHUB_API_URL` without a trailing slash: where a service acting as the user calls GitHub. */
  readonly githubApiUrl: string
  readonly maxRequestBodyBytes: number
  /**
   * What each session keeps of its SSE events for `Last-Event-ID` resumption: the last 1000
   * events, at most 4 MiB of JSON (a larger message is sent but not kept). Fixed: a client that
   * comes back later than that starts over, which every client can.
   */
  readonly eventStore: { readonly maxEvents: number; readonly maxBytes: number }
  /**
   * How long a stream the client holds open (the session's standalone GET stream, a
   * `subscriptions/listen`) lasts before the bridge ends it: 10 minutes. The proxy checks the token
   * when a stream opens, not while it runs; ended, it is opened again (both SDKs reconnect), so a
   * revoked token stops receiving within this time. Fixed, as the event store's bounds are.
   */
  readonly streamMaxAgeMs: number
  /**
   * The secret the edge adds to every request it forwards (`X-Bridge-Secret`); unset: none.
   * Checked by the bridge's own listener (`main.ts`), not by in-process mounts.
   */
  readonly sharedSecret: string | undefined
  /**
   * The auth server's internal API (`AUTH_INTERNAL_URL`, `INTERNAL_API_SECRET`), where the bridge
   * reads its user directory; undefined: no directory (standalone mode passes one in process).
   */
  readonly internalApi: { readonly url: string; readonly secret: string } | undefined
  /** `MCP_POLICY_FILE`, read and checked at start (docs/policy.md); undefined: none. */
  readonly policy: GatewayPolicy | undefined
  /**
   * Several replicas of this service (`BRIDGE_PEERS`): a session-era request that lands on a
   * replica other than the one that started its session is forwarded to that one
   * (owner-routing.ts). Unset: one replica, sessions untagged.
   */
  readonly replicas: ReplicaSetConfig | undefined
  /**
   * On SIGTERM/SIGINT (`main.ts`): `/ready` answers 503 for `delayMs` while everything is still
   * served; then the listener closes, and requests in flight get `timeoutMs` before the sessions
   * and their children are ended.
   */
  readonly shutdown: { readonly delayMs: number; readonly timeoutMs: number }
  /**
   * The metrics listener (`METRICS_PORT`, on `host`), `GET /metrics` for a bearer `METRICS_TOKEN`
   * (docs/metrics.md); absent: no metrics listener.
   */
  readonly metrics: { readonly port: number; readonly token: string } | undefined
}

export interface ReplicaSetConfig {
  /** This replica's id, one of `peers`. */
  readonly self: string
  /** Every replica, this one included. */
  readonly peers: readonly ReplicaPeer[]
}

/** A bridge setting is missing or invalid; the message names the variable. */
export class BridgeConfigError extends Error {
  override readonly name = 'BridgeConfigError'
}

/** Parses and freezes the bridge configuration; throws a readable error on a bad value. */
export function parseBridgeConfig(
  environment: Readonly<Record<string, string | undefined>>
): BridgeConfig {
  const env = withoutEmptyValues(environment)
  const parsed = environmentSchema.safeParse(env)
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`)
    throw new BridgeConfigError(problems.join('; '))
  }
  const e = parsed.data
  const self = e.BRIDGE_REPLICA_ID ?? hostname()
  if (e.BRIDGE_PEERS !== undefined && !e.BRIDGE_PEERS.some((peer) => peer.id === self)) {
    throw new BridgeConfigError(
      `BRIDGE_REPLICA_ID: "${self}"${e.BRIDGE_REPLICA_ID === undefined ? ' (the host name)' : ''} is not among the ids of BRIDGE_PEERS (${e.BRIDGE_PEERS.map((peer) => peer.id).join(', ')})`
    )
  }
  if (e.AUTH_INTERNAL_URL !== undefined && e.INTERNAL_API_SECRET === undefined) {
    throw new BridgeConfigError(
      'INTERNAL_API_SECRET: required with AUTH_INTERNAL_URL (the secret the auth server checks on its internal API)'
    )
  }
  if (e.METRICS_PORT !== undefined && e.METRICS_TOKEN === undefined) {
    throw new BridgeConfigError(
      'METRICS_TOKEN: required with METRICS_PORT (the metrics are never served without a bearer token)'
    )
  }
  if (e.METRICS_PORT !== undefined && e.METRICS_PORT === e.PORT) {
    throw new BridgeConfigError(`METRICS_PORT: must differ from PORT ${e.PORT}`)
  }
  // A user with nothing in hand may always send one body of the largest size.
  if (e.MAX_REQUEST_BYTES_PER_USER < e.MAX_REQUEST_BODY_BYTES) {
    throw new BridgeConfigError(
      `MAX_REQUEST_BYTES_PER_USER: must be at least MAX_REQUEST_BODY_BYTES (${e.MAX_REQUEST_BODY_BYTES})`
    )
  }
  if (e.MAX_REQUEST_BYTES < e.MAX_REQUEST_BYTES_PER_USER) {
    throw new BridgeConfigError(
      `MAX_REQUEST_BYTES: must be at least MAX_REQUEST_BYTES_PER_USER (${e.MAX_REQUEST_BYTES_PER_USER})`
    )
  }
  const idleTimeoutMs = e.SESSION_IDLE_TIMEOUT * 1000
  const childUser = childUserFrom(e.CHILD_USER)
  const childUidRange = uidRangeFrom(e.CHILD_UID_RANGE, childUser, e.MAX_SESSIONS)
  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
    refusalLogRate: e.REFUSAL_LOG_RATE,
    idleTimeoutMs,
    sweepIntervalMs: Math.min(30_000, Math.max(50, idleTimeoutMs / 4)),
    childStartTimeoutMs: 60_000,
    maxSessions: e.MAX_SESSIONS,
    // Below the total by default, so one account cannot hold every place (busy ones are kept).
    maxSessionsPerUser:
      e.MAX_SESSIONS_PER_USER ?? Math.max(1, Math.min(10, Math.floor(e.MAX_SESSIONS / 2))),
    maxRequestsPerUser: e.MAX_REQUESTS_PER_USER,
    maxRequestBytesPerUser: e.MAX_REQUEST_BYTES_PER_USER,
    maxRequestBytes: e.MAX_REQUEST_BYTES,
    childCrashRate: Object.freeze({
      burst: e.CHILD_CRASHES_PER_USER,
      windowMs: e.CHILD_CRASH_WINDOW * 1000,
    }),
    allowedOrigins: e.ALLOWED_ORIGINS ?? [],
    allowedHosts: e.ALLOWED_HOSTS ?? (LOOPBACK_HOSTS.includes(e.HOST) ? LOOPBACK_HOSTS : '*'),
    dataDir: resolve(e.DATA_DIR),
    childUser,
    childUidRange,
    allowAnonymous: e.ALLOW_ANONYMOUS,
    githubApiUrl: e.GITHUB_API_URL,
    maxRequestBodyBytes: e.MAX_REQUEST_BODY_BYTES,
    eventStore: Object.freeze({ maxEvents: 1000, maxBytes: 4 * 1024 * 1024 }),
    streamMaxAgeMs: 10 * 60_000,
    sharedSecret: e.BRIDGE_SHARED_SECRET,
    internalApi:
      e.AUTH_INTERNAL_URL === undefined || e.INTERNAL_API_SECRET === undefined
        ? undefined
        : Object.freeze({ url: e.AUTH_INTERNAL_URL, secret: e.INTERNAL_API_SECRET }),
    policy: policyFrom(e.MCP_POLICY_FILE),
    replicas:
      e.BRIDGE_PEERS === undefined ? undefined : Object.freeze({ self, peers: e.BRIDGE_PEERS }),
    shutdown: Object.freeze({
      delayMs: e.SHUTDOWN_DELAY * 1000,
      timeoutMs: e.SHUTDOWN_TIMEOUT * 1000,
    }),
    metrics:
      e.METRICS_PORT === undefined || e.METRICS_TOKEN === undefined
        ? undefined
        : Object.freeze({ port: e.METRICS_PORT, token: e.METRICS_TOKEN }),
  })
}

/**
 * Fails closed: a bridge on its own listener trusts the identity headers of whoever reaches it,
 * so beyond loopback it must only accept requests carrying the edge's secret. Throws a readable
 * error, naming the variable, when the secret is missing on a non-loopback address.
 */
export function assertListenerGuarded(config: BridgeConfig): void {
  if (config.sharedSecret !== undefined || isLoopback(config.host)) return
  throw new BridgeConfigError(
    `BRIDGE_SHARED_SECRET is not set and HOST=${config.host} is not a loopback address, so any neighbour could send forged X-User-Id headers. Set BRIDGE_SHARED_SECRET to the secret the reverse proxy adds as X-Bridge-Secret (docs/mcp-services.md), or listen on 127.0.0.1.`
  )
}

function isLoopback(host: string): boolean {
  return LOOPBACK_HOSTS.includes(host) || /^127(\.\d{1,3}){3}$/.test(host)
}

/**
 * Throws a readable error when the children's user (`CHILD_USER`) is set and this process cannot
 * start them as that user: checked at start, so a bridge never runs children that share its user
 * while its configuration says they do not.
 */
export function assertChildUserUsable(config: BridgeConfig): void {
  const { childUser, childUidRange } = config
  const problem = childUser && childUserProblem(childUser)
  if (problem) throw new BridgeConfigError(`CHILD_USER: ${problem}`)
  // One id of the range stands for all: the same switch, to another number.
  const rangeProblem =
    childUser && childUidRange && childUserProblem({ ...childUser, uid: childUidRange.first })
  if (rangeProblem) {
    throw new BridgeConfigError(`CHILD_UID_RANGE: ${rangeProblem}`)
  }
}

/**
 * Enough ids for every child at the caps (sessions and pooled children, `MAX_SESSIONS` each) and
 * as many again ending, which keep their id until they have exited.
 */
function uidRangeFrom(
  value: string | undefined,
  childUser: ChildUser | undefined,
  maxSessions: number
): UidRange | undefined {
  if (value === undefined) return undefined
  const problem = (message: string) => new BridgeConfigError(`CHILD_UID_RANGE: ${message}`)
  if (childUser === undefined) throw problem('needs CHILD_USER (its group and home)')
  let range: UidRange
  try {
    range = parseUidRange(value.trim(), readPasswd())
  } catch (error) {
    throw problem((error as Error).message)
  }
  const size = range.last - range.first + 1
  if (size < 4 * maxSessions) {
    throw problem(`${size} ids, fewer than 4 x MAX_SESSIONS (${4 * maxSessions})`)
  }
  if (childUser.uid >= range.first && childUser.uid <= range.last) {
    throw problem(`holds CHILD_USER's id ${childUser.uid}, whose children it must keep apart`)
  }
  return Object.freeze(range)
}

function childUserFrom(value: string | undefined): ChildUser | undefined {
  if (value === undefined) return undefined
  try {
    return Object.freeze(parseChildUser(value.trim(), readPasswd()))
  } catch (error) {
    throw new BridgeConfigError(`CHILD_USER: ${(error as Error).message}`)
  }
}

function policyFrom(path: string | undefined): GatewayPolicy | undefined {
  if (path === undefined || path.trim() === '') return undefined
  try {
    return loadPolicyFile(
      path.trim(),
      serviceCatalog.map((service) => service.name)
    )
  } catch (error) {
    throw new BridgeConfigError((error as Error).message)
  }
}
