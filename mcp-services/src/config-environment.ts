import { z } from 'zod'
import { bearerToken, decimalNumber, wholeNumber } from './environment.ts'

/**
 * The bridge's environment variables as zod reads them: names, defaults, bounds and the text of
 * each error. `config.ts` turns the parsed values into the frozen `BridgeConfig`.
 */

/** One replica of the service, as its peers reach it. */
export interface ReplicaPeer {
  readonly id: string
  /** Internal base URL (`http://host:port`), never shown to clients. */
  readonly url: string
}

export const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '[::1]', '::1']

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

/**
 * An entry is compared with the `Origin` header as browsers send it (scheme, lower-case host, no
 * default port, no path): written any other way it would never match, and refuse quietly.
 */
function originProblem(entry: string): string | undefined {
  if (entry.includes('*')) {
    return `${entry}: wildcards are not taken; list each origin, or set ALLOWED_ORIGINS=* alone`
  }
  let origin: string
  try {
    origin = new URL(entry).origin
  } catch {
    return `${entry} is not an origin (scheme://host[:port])`
  }
  // A scheme with no origin in the URL standard (chrome-extension://id, moz-extension://uuid, an
  // app's own scheme): browsers send it as `scheme://host`, which is compared as written. Pages
  // of the schemes named here send `Origin: null`, which no entry may let through.
  if (origin === 'null') {
    if (/^(javascript|data|about|blob|file|view-source|content):/i.test(entry)) {
      return `${entry} sends no origin`
    }
    if (!/^[a-z][a-z0-9+.-]*:\/\/[^/?#@\s]+$/.test(entry)) {
      return `${entry} is not an origin (scheme://host[:port])`
    }
    return extensionIdProblem(entry)
  }
  return origin === entry ? undefined : `${entry} is never sent as an Origin: write ${origin}`
}

/**
 * The two extension schemes whose ids have one spelling: Chrome's are 32 letters a-p, Firefox's
 * a lower-case UUID. Any other spelling names no extension, and would match nothing.
 */
function extensionIdProblem(entry: string): string | undefined {
  const [scheme, id] = entry.split('://') as [string, string]
  if (scheme === 'chrome-extension' && !/^[a-p]{32}$/.test(id)) {
    return `${entry}: a Chrome extension's id is 32 letters a-p`
  }
  if (scheme === 'moz-extension' && !/^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$/.test(id)) {
    return `${entry}: a Firefox extension's id is a lower-case UUID`
  }
  return undefined
}

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

export const environmentSchema = z.object({
  PORT: wholeNumber(1, 65535).default(3000).describe('listen port'),
  HOST: z.string().min(1).default('127.0.0.1').describe('listen address'),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info')
    .describe('pino level'),
  LOG_FORMAT: z
    .enum(['json', 'pretty'])
    .optional()
    .describe('json, or pretty (readable lines); unset: pretty when stdout is a terminal'),
  REFUSAL_LOG_RATE: wholeNumber(0, 1_000_000)
    .default(20)
    .describe(
      'refusal lines of each kind (shared_secret_refused, policy_denied, session_cap) logged a second; the rest are counted in one line; 0: every one'
    ),
  SESSION_IDLE_TIMEOUT: decimalNumber({ above: 0 })
    .default(1800)
    .describe('seconds without a request (and nothing in flight) before a session is ended'),
  MAX_SESSIONS: wholeNumber(1)
    .default(200)
    .describe('sessions (child processes) in total; at the cap an idle one gives way, else 503'),
  MAX_SESSIONS_PER_USER: wholeNumber(1)
    .optional()
    .describe(
      'sessions per user, and pooled children per user; at the cap an idle one of theirs gives way, else 429; unset: half of MAX_SESSIONS, at most 10'
    ),
  CHILD_CRASHES_PER_USER: wholeNumber(1)
    .default(5)
    .describe(
      "a user's MCP server processes that may end by themselves (crash, exit at start) in a burst; beyond, their requests that would start one get 429 until CHILD_CRASH_WINDOW regains one"
    ),
  CHILD_CRASH_WINDOW: decimalNumber({ above: 0 })
    .default(60)
    .describe('seconds over which a user regains a full burst of CHILD_CRASHES_PER_USER'),
  ALLOWED_ORIGINS: listOrAny
    .superRefine((origins, context) => {
      for (const entry of origins === '*' ? [] : (origins ?? [])) {
        const problem = originProblem(entry)
        if (problem) context.addIssue({ code: 'custom', message: problem })
      }
    })
    .describe('comma list of browser origins allowed besides same-origin requests, or *'),
  ALLOWED_HOSTS: listOrAny.describe(
    'comma list of Host header names (without port) accepted, or *; default: loopback names when HOST is loopback, else *'
  ),
  DATA_DIR: z
    .string()
    .min(1)
    .default('.data/services')
    .describe('root of per-user state ({dataDir} in the catalog)'),
  CHILD_USER: z
    .string()
    .min(1)
    .optional()
    .describe(
      "the user the MCP server processes run as (a name, or uid:gid), when not the bridge's own: the bridge must then run as root with the SETUID and SETGID capabilities"
    ),
  CHILD_UID_RANGE: z
    .string()
    .min(1)
    .optional()
    .describe(
      'first-last: user ids given out one per child of a service without per-user data, so no two such children share a user (needs CHILD_USER, and at least 4 x MAX_SESSIONS ids)'
    ),
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
    .pipe(bearerToken(z.string().min(32, 'at least 32 characters')).optional())
    .describe(
      "the internal API's bearer secret (the auth server's); required with AUTH_INTERNAL_URL"
    ),
  MCP_POLICY_FILE: z
    .string()
    .optional()
    .describe('JSON file of per-service and per-tool policy (docs/policy.md); default: none'),
  MAX_REQUEST_BODY_BYTES: wholeNumber(1)
    .default(4 * 1024 * 1024)
    .describe('largest POST body accepted (the SDK default, 4 MiB)'),
  MAX_REQUEST_BYTES_PER_USER: wholeNumber(1)
    .default(16 * 1024 * 1024)
    .describe(
      "the body bytes of a user's requests handled at once (at least MAX_REQUEST_BODY_BYTES); beyond: 429"
    ),
  MAX_REQUEST_BYTES: wholeNumber(1)
    .default(64 * 1024 * 1024)
    .describe(
      "the body bytes of every user's requests handled at once (at least MAX_REQUEST_BYTES_PER_USER); beyond: 503"
    ),
  MAX_REQUESTS_PER_USER: wholeNumber(1)
    .default(32)
    .describe(
      "a user's requests handled at once, from arrival to the start of their answer (each may hold MAX_REQUEST_BODY_BYTES while its body arrives); beyond: 429"
    ),
  BRIDGE_REPLICA_ID: z
    .string()
    .trim()
    .regex(REPLICA_ID, '1-64 characters of A-Z a-z 0-9 . _ -')
    .optional()
    .describe('this replica’s id in BRIDGE_PEERS; default: the host name'),
  SHUTDOWN_DELAY: decimalNumber({ atLeast: 0, atMost: 300 })
    .default(5)
    .describe('seconds /ready answers 503 on SIGTERM, still serving, before the listener closes'),
  SHUTDOWN_TIMEOUT: decimalNumber({ atLeast: 0, atMost: 300 })
    .default(20)
    .describe('seconds requests in flight get to finish once the listener is closed'),
  METRICS_PORT: wholeNumber(1, 65535)
    .optional()
    .describe('port of the metrics listener (GET /metrics, docs/metrics.md); unset: none'),
  METRICS_TOKEN: bearerToken(z.string().min(32, 'at least 32 characters (openssl rand -hex 32)'))
    .optional()
    .describe('the bearer token Prometheus presents for /metrics; required with METRICS_PORT'),
  BRIDGE_PEERS: peerList.describe(
    'every replica of this service as id=http://host:port, comma-separated; sessions are served by the replica that started them'
  ),
})
