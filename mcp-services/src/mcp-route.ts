import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js'
import { Hono } from 'hono'
import type { Logger } from 'pino'
import type { BoundedLog } from './bounded-log.ts'
import { type BridgeMetrics, countChild } from './bridge-metrics.ts'
import type { ServiceDefinition } from './catalog.ts'
import type { ChildUsers } from './child-ids.ts'
import type { ChildPool } from './child-pool.ts'
import { MAX_QUEUED_INPUT_BYTES, startChild } from './child-process.ts'
import { childSpecFor, type GitHubAccess } from './child-spec.ts'
import type { BridgeConfig } from './config.ts'
import type { CrashRate } from './crash-rate.ts'
import { type Identity, identityFromHeaders, mayUseSession } from './identity.ts'
import {
  CRASH_RATE_REFUSAL,
  INVALID_REQUEST,
  jsonRpcErrorResponse,
  SERVER_ERROR,
  SESSION_NOT_FOUND,
} from './json-rpc-error.ts'
import {
  isModernVersion,
  isRevisionShaped,
  opensStatelessly,
  sessionIdOf,
} from './modern-protocol.ts'
import type { RetryElsewhere } from './owner-routing.ts'
import type { PolicyGate } from './policy/gate.ts'
import { screenedSessionPost } from './policy/session-era.ts'
import { unansweredRefusal } from './pool-refusal.ts'
import { postRefusal, readJsonPost } from './post-body.ts'
import type { ResolvedLaunch } from './resolve-launch.ts'
import { Session } from './session.ts'
import {
  batchHoldsInitialize,
  INITIALIZE_IN_BATCH,
  readSessionPost,
  reusedIdRefusal,
} from './session-post.ts'
import type { SessionCap, SessionRegistry } from './session-registry.ts'
import { serveStateless, unsupportedVersion } from './stateless-route.ts'

export interface McpRouteDeps {
  /** Counts each session's child (docs/metrics.md). */
  readonly metrics: BridgeMetrics
  readonly service: ServiceDefinition
  readonly launch: ResolvedLaunch
  readonly config: BridgeConfig
  readonly registry: SessionRegistry
  /** The children serving the stateless era (2026-07-28). */
  readonly pool: ChildPool
  /** Each user's budget of children ending by themselves, shared with the pool. */
  readonly crashRate: CrashRate
  /** Who each child runs as (`CHILD_USER`, `CHILD_UID_RANGE`); absent: the bridge's user. */
  readonly childUsers?: ChildUsers | undefined
  /** Where a service acting as the user on GitHub gets their token (`child-spec.ts`). */
  readonly github?: GitHubAccess | undefined
  readonly logger: Logger
  /** Where refusals are logged, within `REFUSAL_LOG_RATE`. */
  readonly refusals: BoundedLog
  readonly now: () => number
  /** False once the bridge is shutting down: new sessions are refused. */
  readonly accepting: () => boolean
  /** The service's policy (docs/policy.md); undefined: no rules beyond the gateway's. */
  readonly policy?: PolicyGate | undefined
  /** Mints session ids (owner-routing.ts, with several replicas); default a UUID. */
  readonly newSessionId?: (() => string) | undefined
  /** A stateless retry of a call another replica holds: that replica's answer (owner-routing.ts). */
  readonly retryElsewhere?: RetryElsewhere | undefined
}

/**
 * `POST|GET|DELETE /mcp`, both protocol eras. A request carrying `Mcp-Session-Id` goes to that
 * session if the same user opened it through the same client (else 404, as for an unknown session: the id's existence
 * is not revealed). A POST without one that opens the stateless way (a protocol version in its
 * `_meta`, or a 2026-era `MCP-Protocol-Version`) is served statelessly by the user's pooled child;
 * otherwise it must be `initialize`: it starts a child for a new session, within the caps. The
 * stateless era is POST only: GET or DELETE naming a 2026-era version is answered 405.
 */
export function mcpRoute(deps: McpRouteDeps): Hono {
  const app = new Hono()
  app.on(['GET', 'POST', 'DELETE'], '/', async (c) => {
    // Hono answers HEAD with the GET route; neither era serves HEAD, with a session or without.
    if (c.req.method === 'HEAD') return methodNotAllowed()
    const identity = identityFromHeaders(c.req.raw.headers, deps.config.allowAnonymous)
    if (!identity) {
      return jsonRpcErrorResponse(403, SERVER_ERROR, 'Forbidden: no authenticated user (X-User-Id)')
    }
    // Policy: a user the service is not for is refused whatever they send (ending a session aside).
    const subject = deps.policy ? await deps.policy.subject(identity) : undefined
    if (deps.policy && subject && c.req.method !== 'DELETE') {
      const refused = deps.policy.serviceRefused(subject)
      if (refused) return refused
    }
    // A version header naming no revision (`garbage`, `v999.0.0`) neither reaches a session nor
    // ends one: a POST is refused as an unsupported version by the stateless era's ladder, which
    // names the request it refuses; anything else here.
    const version = c.req.header('mcp-protocol-version')
    const namesNoRevision = version !== undefined && !isRevisionShaped(version)
    if (namesNoRevision && c.req.method !== 'POST') return unsupportedVersion(null, version)
    const sessionId = namesNoRevision ? undefined : sessionIdOf((name) => c.req.header(name))
    if (sessionId !== undefined) {
      const session = deps.registry.get(sessionId)
      if (!session || session.ended || !mayUseSession(session.identity, identity)) {
        return jsonRpcErrorResponse(404, SESSION_NOT_FOUND, 'Session not found')
      }
      if (c.req.method !== 'POST') return session.handle(c.req.raw)
      const post = await readSessionPost(c.req.raw, session, {
        maxBytes: deps.config.maxRequestBodyBytes,
        maxRequests: deps.config.maxRequestsPerUser,
      })
      if ('refusal' in post) return post.refusal
      const reused = reusedIdRefusal(post.requestIds, session)
      if (reused) return reused
      const unanswered = unansweredRefusal(
        deps.registry.requestsInFlightFor(identity.userId),
        post.requestIds.length,
        deps.config.maxRequestsPerUser
      )
      if (unanswered) {
        return jsonRpcErrorResponse(unanswered.status, SERVER_ERROR, unanswered.message, {
          'Retry-After': String(unanswered.retryAfterSeconds),
        })
      }
      // Notifications and responses are answered 202 before the child reads them: one it cannot
      // take is refused now, as the transport says a server must, not dropped after.
      if (post.requestIds.length === 0 && session.child.inputBacklog > MAX_QUEUED_INPUT_BYTES) {
        return jsonRpcErrorResponse(
          503,
          SERVER_ERROR,
          'Service Unavailable: the MCP server is not reading its input; retry later',
          { 'Retry-After': '1' }
        )
      }
      if (deps.policy && subject) {
        return screenedSessionPost(c.req.raw, post.parsed, session, identity, subject, deps.policy)
      }
      return session.handle(c.req.raw, post.parsed)
    }
    if (c.req.method !== 'POST') {
      if (isModernVersion(c.req.header('mcp-protocol-version'))) {
        return jsonRpcErrorResponse(
          405,
          SERVER_ERROR,
          'Method not allowed: the stateless era is POST only',
          {
            Allow: 'POST',
          }
        )
      }
      return jsonRpcErrorResponse(
        400,
        SERVER_ERROR,
        'Bad Request: Mcp-Session-Id header is required'
      )
    }
    const body = await readJsonPost(c.req.raw, deps.config.maxRequestBodyBytes)
    if ('refusal' in body) return body.refusal
    const { parsed } = body
    if (namesNoRevision || opensStatelessly(c.req.raw.headers, parsed)) {
      // 2026-07-28 keeps the rule: every POST accepts both answers and carries JSON.
      const refusal = postRefusal(c.req.raw.headers)
      if (refusal) return refusal
      if (!deps.accepting()) {
        return jsonRpcErrorResponse(503, SERVER_ERROR, 'Service Unavailable: shutting down')
      }
      const elsewhere = await deps.retryElsewhere?.(c.req.raw, body.text, parsed)
      return elsewhere ?? serveStateless(c.req.raw, parsed, identity, deps)
    }
    return startSession(c.req.raw, parsed, identity, deps)
  })
  app.all('/', methodNotAllowed)
  return app
}

async function startSession(
  request: Request,
  parsed: unknown,
  identity: Identity,
  deps: McpRouteDeps
) {
  if (!isInitializeRequest(parsed)) {
    const message = batchHoldsInitialize(parsed) ? INITIALIZE_IN_BATCH : noSessionMessage(request)
    return jsonRpcErrorResponse(400, INVALID_REQUEST, message)
  }
  if (!deps.accepting()) {
    return jsonRpcErrorResponse(503, SERVER_ERROR, 'Service Unavailable: shutting down')
  }
  // The session's transport would refuse these too, but only once a child was started for it,
  // and at a cap another session evicted to make room.
  const refusal = postRefusal(request.headers)
  if (refusal) return refusal
  // Refused before admission, which may evict an idle session for a start that will not happen.
  const wait = deps.crashRate.secondsToWait(identity.userId)
  if (wait > 0) return keepsCrashing(wait, deps)
  const admission = deps.registry.admit(identity.userId, deps.now())
  if (!admission.admitted) return capReached(admission.cap, admission.retryAfterSeconds, deps)
  let session: Session
  try {
    const evicted = admission.evicted
    if (evicted) {
      deps.logger.info(
        { event: 'session_evicted', cap: evicted.cap, user: evicted.session.identity.userId },
        'least recently used idle session ended to make room'
      )
      // Its child exits before the new one starts: the cap holds for processes, not just ids.
      await evicted.session.end(`the least recently used idle session at the ${evicted.cap} cap`)
    }
    session = await createSession(identity, deps)
  } catch (error) {
    deps.logger.error({ err: error }, 'could not start the MCP server process')
    return jsonRpcErrorResponse(500, SERVER_ERROR, 'Internal error: could not start the MCP server')
  } finally {
    deps.registry.release(identity.userId)
  }
  const response = await session.handle(request, parsed)
  if (session.id === undefined) await session.end('initialize was refused')
  return response
}

/** Every session in the way is busy: 429 at the user's cap, 503 at the total cap. */
function capReached(cap: SessionCap, retryAfterSeconds: number, deps: McpRouteDeps): Response {
  deps.refusals('warn', 'session_cap', { reason: cap, cap, retryAfterSeconds }, 'session refused')
  const headers = { 'Retry-After': String(retryAfterSeconds) }
  if (cap === 'total') {
    return jsonRpcErrorResponse(
      503,
      SERVER_ERROR,
      'Service Unavailable: every session is in use; try again later',
      headers
    )
  }
  return jsonRpcErrorResponse(
    429,
    SERVER_ERROR,
    `Too Many Requests: at most ${deps.config.maxSessionsPerUser} sessions per user and each of yours is in use (a request in flight or a stream open); end one (DELETE) or try again later`,
    headers
  )
}

/** The user's children keep ending by themselves: 429 until the crash budget regains one. */
function keepsCrashing(retryAfterSeconds: number, deps: McpRouteDeps): Response {
  deps.metrics.childStartsRefused.inc({ era: 'session' })
  return jsonRpcErrorResponse(429, SERVER_ERROR, `Too Many Requests: ${CRASH_RATE_REFUSAL}`, {
    'Retry-After': String(retryAfterSeconds),
  })
}

async function createSession(identity: Identity, deps: McpRouteDeps): Promise<Session> {
  const spec = await childSpecFor(
    deps.service,
    deps.launch,
    identity,
    { dataDir: deps.config.dataDir, childUsers: deps.childUsers },
    deps.github
  )
  const logger = deps.logger.child({ user: identity.userId })
  const child = await startChild(spec, logger)
  countChild(child, 'session', deps.metrics)
  deps.crashRate.watch(identity.userId, child)
  const session = new Session({
    identity,
    child,
    logger,
    now: deps.now,
    maxRequestBodyBytes: deps.config.maxRequestBodyBytes,
    eventStoreLimits: deps.config.eventStore,
    streamMaxAgeMs: deps.config.streamMaxAgeMs,
    hiddenClientCapabilities: deps.service.hiddenClientCapabilities,
    filterForClient: deps.policy && ((message) => deps.policy?.answer(session, message) ?? message),
    newSessionId: deps.newSessionId,
    onInitialized: (started) => {
      deps.registry.indexById(started)
      logger.info({ session: started.id, pid: child.pid }, 'session started')
    },
    onEnded: (ended) => deps.registry.forget(ended),
    start: {
      timeoutMs: deps.config.childStartTimeoutMs,
      onStartFailed: () => deps.crashRate.countFailedStart(identity.userId),
    },
  })
  deps.registry.track(session)
  return session
}

function noSessionMessage(request: Request): string {
  const base = 'Bad Request: no Mcp-Session-Id; start a session with initialize first'
  // A 2026-era client that sent Mcp-Method but no protocol version in _meta.
  if (request.headers.has('mcp-method')) {
    return `${base}, or send the protocol version and client capabilities in _meta (2026-07-28)`
  }
  return base
}

function methodNotAllowed(): Response {
  return jsonRpcErrorResponse(405, SERVER_ERROR, 'Method not allowed.', {
    Allow: 'GET, POST, DELETE, OPTIONS',
  })
}
