import { hostname } from 'node:os'
import { resolve } from 'node:path'
import { z } from 'zod'
import { serviceCatalog } from './catalog.ts'
import type { CrashRateLimits } from './crash-rate.ts'
import { withoutEmptyValues } from './environment.ts'
import { type GatewayPolicy, loadPolicyFile } from './policy/policy-format.ts'

/**
 * Configuration of one bridged service, from the environment, validated once at start-up. This is
 * the only module of the package that reads environment variables; everything else receives the
 * frozen {@link BridgeConfig}.
 */
const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '[::1]', '::1']

const listOrAny = z
  .string()
  .optional()
  .transform((value): readonly string[] | '*' | undefined => {
    if (value === undefined || value.trim() === '') return undefined
    if (value.trim() === '*') return '*'
    return value
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean)
  })

const REPLICA_ID = /^[A-Za-z0-9._-]{1,64}$/

/** `id=url,id=url`: every replica of this service (this one included) and its internal base URL. */
const peerList = z
  .string()
  .optional()
  .transform((value, ctx): readonly ReplicaPeer[] | undefined => {
    if (value === undefined || value.trim() === '') return undefined
    const peers: ReplicaPeer[] = []
    const entries = value.split(',').map((item) => item.trim())
    for (const entry of entries.filter(Boolean)) {
      const equals = entry.indexOf('=')
      const id = entry.slice(0, equals).trim()
      const url = peerUrl(entry.slice(equals + 1).trim())
      if (equals < 1 || !REPLICA_ID.test(id) || url === undefined) {
        ctx.addIssue({
          code: 'custom',
          message: `"${entry}" is not id=http://host:port (id: 1-64 of A-Z a-z 0-9 . _ -; a base URL without path)`,
        })
        return z.NEVER
      }
      if (peers.some((peer) => peer.id === id)) {
        ctx.addIssue({ code: 'custom', message: `replica id "${id}" is listed twice` })
        return z.NEVER
      }
      peers.push(Object.freeze({ id, url }))
    }
    return Object.freeze(peers)
  })

function peerUrl(value: string): string | undefined {
  try {
    const url = new URL(value)
    const bare = url.pathname === '/' && url.search === '' && url.hash === '' && !url.username
    if ((url.protocol === 'http:' || url.protocol === 'https:') && bare) return url.origin
  } catch {
    // not a URL
  }
  return undefined
}

const flag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .default('false')
  .transform((value) => /^(true|1|yes)$/.test(value))

const environmentSchema = z.object({
  PORT: z.coerce.number().int().min(1).max(65535).default(3000).describe('listen port'),
  HOST: z.string().min(1).default('127.0.0.1').describe('listen address'),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info')
    .describe('pino level'),
  LOG_FORMAT: z
    .enum(['json', 'pretty'])
    .optional()
    .describe('json, or pretty (readable lines); unset: pretty when stdout is a terminal'),
  SESSION_IDLE_TIMEOUT: z.coerce
    .number()
    .positive()
    .default(1800)
    .describe('seconds without a request (and nothing in flight) before a session is ended'),
  MAX_SESSIONS: z.coerce
    .number()
    .int()
    .min(1)
    .default(200)
    .describe('sessions (child processes) in total; at the cap an idle one gives way, else 503'),
  MAX_SESSIONS_PER_USER: z.coerce
    .number()
    .int()
    .min(1)
    .default(10)
    .describe('sessions per user; at the cap an idle one of theirs gives way, else 429'),
  CHILD_CRASHES_PER_USER: z.coerce
    .number()
    .int()
    .min(1)
    .default(5)
    .describe(
      "a user's MCP server processes that may end by themselves (crash, exit at start) in a burst; beyond, their requests that would start one get 429 until CHILD_CRASH_WINDOW regains one"
    ),
  CHILD_CRASH_WINDOW: z.coerce
    .number()
    .positive()
    .default(60)
    .describe('seconds over which a user regains a full burst of CHILD_CRASHES_PER_USER'),
  ALLOWED_ORIGINS: listOrAny.describe(
    'comma list of browser origins allowed besides same-origin requests, or *'
  ),
  ALLOWED_HOSTS: listOrAny.describe(
    'comma list of Host header names (without port) accepted, or *; default: loopback names when HOST is loopback, else *'
  ),
  DATA_DIR: z
    .string()
    .min(1)
    .default('.data/services')
    .describe('root of per-user state ({dataDir} in the catalog)'),
  ALLOW_ANONYMOUS: flag.describe(
    'accept requests without X-User-Id as user "anonymous" (only for a bridge that nothing but you can reach)'
  ),
  GITHUB_API_URL: z
    .url()
    .default('https://api.github.com')
    .transform((value) => value.replace(/\/+$/, ''))
    .describe(
      'GitHub REST root for a service acting as the user on GitHub (GitHub Enterprise Server: https://<host>/api/v3)'
    ),
  BRIDGE_SHARED_SECRET: z
    .string()
    .optional()
    .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()))
    .pipe(
      z
        .string()
        .regex(
          /^[A-Za-z0-9._~+/=-]{32,}$/,
          'at least 32 characters of A-Z a-z 0-9 . _ ~ + / = - (e.g. openssl rand -hex 32)'
        )
        .optional()
    )
    .describe(
      'the per-deployment secret the reverse proxy adds as X-Bridge-Secret; required unless HOST is loopback'
    ),
  AUTH_INTERNAL_URL: z
    .string()
    .optional()
    .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()))
    .pipe(z.url({ protocol: /^https?$/ }).optional())
    .describe(
      "the auth server's internal API, e.g. http://auth:8001 (docs/internal-api.md): users' memberships for policy rules, their GitHub tokens for the github service; unset: neither"
    ),
  INTERNAL_API_SECRET: z
    .string()
    .optional()
    .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()))
    .pipe(z.string().min(32, 'at least 32 characters').optional())
    .describe(
      "the internal API's bearer secret (the auth server's); required with AUTH_INTERNAL_URL"
    ),
  MCP_POLICY_FILE: z
    .string()
    .optional()
    .describe('JSON file of per-service and per-tool policy (docs/policy.md); default: none'),
  MAX_REQUEST_BODY_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(4 * 1024 * 1024)
    .describe('largest POST body accepted (the SDK default, 4 MiB)'),
  BRIDGE_REPLICA_ID: z
    .string()
    .trim()
    .regex(REPLICA_ID, '1-64 characters of A-Z a-z 0-9 . _ -')
    .optional()
    .describe('this replica’s id in BRIDGE_PEERS; default: the host name'),
  SHUTDOWN_DELAY: z.coerce
    .number()
    .min(0)
    .max(300)
    .default(5)
    .describe('seconds /ready answers 503 on SIGTERM, still serving, before the listener closes'),
  SHUTDOWN_TIMEOUT: z.coerce
    .number()
    .min(0)
    .max(300)
    .default(20)
    .describe('seconds requests in flight get to finish once the listener is closed'),
  METRICS_PORT: z.coerce
    .number()
    .int()
    .min(1)
    .max(65535)
    .optional()
    .describe('port of the metrics listener (GET /metrics, docs/metrics.md); unset: none'),
  METRICS_TOKEN: z
    .string()
    .min(32, 'at least 32 characters (openssl rand -hex 32)')
    .optional()
    .describe('the bearer token Prometheus presents for /metrics; required with METRICS_PORT'),
  BRIDGE_PEERS: peerList.describe(
    'every replica of this service as id=http://host:port, comma-separated; sessions are served by the replica that started them'
  ),
})

export interface BridgeConfig {
  readonly port: number
  readonly host: string
  readonly logLevel: string
  /** `json` or `pretty`; unset: pretty when stdout is a terminal, else JSON. */
  readonly logFormat: 'json' | 'pretty' | undefined
  /** A session with no request and nothing in flight for this long is ended. */
  readonly idleTimeoutMs: number
  /** How often idle sessions are looked for. */
  readonly sweepIntervalMs: number
  /**
   * How long a pooled child may take to answer the bridge's `initialize`; past it the child is
   * ended and the request refused. Fixed at 60 s, the SDK's own request timeout.
   */
  readonly childStartTimeoutMs: number
  readonly maxSessions: number
  readonly maxSessionsPerUser: number
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

/** One replica of the service, as its peers reach it. */
export interface ReplicaPeer {
  readonly id: string
  /** Internal base URL (`http://host:port`), never shown to clients. */
  readonly url: string
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
    throw new BridgeConfigError(`invalid bridge configuration: ${problems.join('; ')}`)
  }
  const e = parsed.data
  const self = e.BRIDGE_REPLICA_ID ?? hostname()
  if (e.BRIDGE_PEERS !== undefined && !e.BRIDGE_PEERS.some((peer) => peer.id === self)) {
    throw new BridgeConfigError(
      `invalid bridge configuration: BRIDGE_REPLICA_ID: "${self}"${e.BRIDGE_REPLICA_ID === undefined ? ' (the host name)' : ''} is not among the ids of BRIDGE_PEERS (${e.BRIDGE_PEERS.map((peer) => peer.id).join(', ')})`
    )
  }
  if (e.AUTH_INTERNAL_URL !== undefined && e.INTERNAL_API_SECRET === undefined) {
    throw new BridgeConfigError(
      'invalid bridge configuration: INTERNAL_API_SECRET: required with AUTH_INTERNAL_URL (the secret the auth server checks on its internal API)'
    )
  }
  if (e.METRICS_PORT !== undefined && e.METRICS_TOKEN === undefined) {
    throw new BridgeConfigError(
      'invalid bridge configuration: METRICS_TOKEN: required with METRICS_PORT (the metrics are never served without a bearer token)'
    )
  }
  if (e.METRICS_PORT !== undefined && e.METRICS_PORT === e.PORT) {
    throw new BridgeConfigError(
      `invalid bridge configuration: METRICS_PORT: must differ from PORT ${e.PORT}`
    )
  }
  const idleTimeoutMs = e.SESSION_IDLE_TIMEOUT * 1000
  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
    idleTimeoutMs,
    sweepIntervalMs: Math.min(30_000, Math.max(50, idleTimeoutMs / 4)),
    childStartTimeoutMs: 60_000,
    maxSessions: e.MAX_SESSIONS,
    maxSessionsPerUser: e.MAX_SESSIONS_PER_USER,
    childCrashRate: Object.freeze({
      burst: e.CHILD_CRASHES_PER_USER,
      windowMs: e.CHILD_CRASH_WINDOW * 1000,
    }),
    allowedOrigins: e.ALLOWED_ORIGINS ?? [],
    allowedHosts: e.ALLOWED_HOSTS ?? (LOOPBACK_HOSTS.includes(e.HOST) ? LOOPBACK_HOSTS : '*'),
    dataDir: resolve(e.DATA_DIR),
    allowAnonymous: e.ALLOW_ANONYMOUS,
    githubApiUrl: e.GITHUB_API_URL,
    maxRequestBodyBytes: e.MAX_REQUEST_BODY_BYTES,
    eventStore: Object.freeze({ maxEvents: 1000, maxBytes: 4 * 1024 * 1024 }),
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
    `invalid bridge configuration: BRIDGE_SHARED_SECRET is not set and HOST=${config.host} is not a loopback address, so any neighbour could send forged X-User-Id headers. Set BRIDGE_SHARED_SECRET to the secret the reverse proxy adds as X-Bridge-Secret (docs/mcp-services.md), or listen on 127.0.0.1.`
  )
}

function isLoopback(host: string): boolean {
  return LOOPBACK_HOSTS.includes(host) || /^127(\.\d{1,3}){3}$/.test(host)
}

function policyFrom(path: string | undefined): GatewayPolicy | undefined {
  if (path === undefined || path.trim() === '') return undefined
  try {
    return loadPolicyFile(
      path.trim(),
      serviceCatalog.map((service) => service.name)
    )
  } catch (error) {
    throw new BridgeConfigError(`invalid bridge configuration: ${(error as Error).message}`)
  }
}
