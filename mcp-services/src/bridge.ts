import { Hono } from 'hono'
import type { Logger } from 'pino'
import { boundedLog } from './bounded-log.ts'
import { type BridgeMetrics, bridgeRequestMetrics, createBridgeMetrics } from './bridge-metrics.ts'
import type { ServiceDefinition } from './catalog.ts'
import { type ChildUsers, createChildUsers } from './child-ids.ts'
import { ChildPool } from './child-pool.ts'
import type { GitHubAccess } from './child-spec.ts'
import { coalescedWrites } from './coalesced-writes.ts'
import type { BridgeConfig } from './config.ts'
import { CrashRate } from './crash-rate.ts'
import { mcpRoute } from './mcp-route.ts'
import { ownerRouting } from './owner-routing.ts'
import { PolicyGate } from './policy/gate.ts'
import type { MembershipDirectory } from './policy/memberships.ts'
import { requestGuard } from './request-guard.ts'
import { boundedInHand } from './requests-in-hand.ts'
import { resolveLaunch } from './resolve-launch.ts'
import { SessionRegistry } from './session-registry.ts'
import { sharedSecretGuard } from './shared-secret.ts'
import type { UserDirectory } from './user-directory.ts'

export interface BridgeDeps {
  /** The catalog entry to serve. */
  readonly service: ServiceDefinition
  /** Parsed bridge configuration (`parseBridgeConfig(process.env)` or built by the caller). */
  readonly config: BridgeConfig
  readonly logger: Logger
  /** Clock in milliseconds, for idle reaping; `Date.now` unless a test moves time itself. */
  readonly now?: () => number
  /**
   * The edge's shared secret (`config.sharedSecret`): when given, a `/mcp` request without it in
   * `X-Bridge-Secret` is refused with 403 before anything else. Give it whenever the app is
   * served on a network listener; leave it out only for an in-process mount behind the gateway's
   * own token check (standalone), where no request reaches the bridge any other way.
   */
  readonly sharedSecret?: string | undefined
  /**
   * The auth server's user directory: where the policy's organisation and team rules find a
   * user's memberships, and a service acting as the user on GitHub (`actAsGitHubUser`) their
   * token. Absent: those rules match nobody, and such a service's children start without a token
   * (their tools say so).
   */
  readonly userDirectory?:
    | (MembershipDirectory & Partial<Pick<UserDirectory, 'githubToken'>>)
    | undefined
  /**
   * The service's public resource URL, for the `resource_metadata` of step-up challenges and the
   * scheme of same-origin browser requests to its host; absent: derived from each request's
   * (forwarded) host and path.
   */
  readonly resource?: string | undefined
  /** Where its metrics go (docs/metrics.md); absent: a registry of its own, `bridge.metrics`. */
  readonly metrics?: BridgeMetrics | undefined
  /**
   * Who the children run as, shared by every bridge of one process so that no two children of
   * different services get one id of `CHILD_UID_RANGE`; absent: made from `config`.
   */
  readonly childUsers?: ChildUsers | undefined
}

export interface Bridge {
  /**
   * Routes `POST|GET|DELETE /mcp`, `GET /health` and `GET /ready`, relative, so the app can be
   * served at the root (`serve({ fetch: bridge.app.fetch })`) or mounted
   * (`app.route('/<name>', bridge.app)`).
   */
  readonly app: Hono
  /** Sessions (child processes) alive or starting. */
  readonly sessionCount: () => number
  /** The stateless era's pooled children (one per user and client). */
  readonly pool: ChildPool
  /** Its Prometheus metrics, served by `main.ts` on `METRICS_PORT` (docs/metrics.md). */
  readonly metrics: BridgeMetrics
  /** From now on `GET /ready` answers 503 with `reason`; everything else is still served. */
  markNotReady(reason: string): void
  /**
   * Shutdown, once the listener no longer accepts connections: refuses new sessions and
   * stateless requests, and ends the streams that never end by themselves (standalone GET
   * streams, `subscriptions/listen`), so the connections drain; requests in flight go on.
   */
  drain(): void
  /**
   * Refuses new sessions, ends every session and waits until every child has exited; called again,
   * the same wait (shutdown calls it before cutting connections, and once they are gone).
   */
  close(): Promise<void>
}

/**
 * Serves one stdio MCP server from the catalog as streamable HTTP (MCP transports spec): protocol
 * versions 2025-03-26 to 2025-11-25 with one child process per MCP session, and the stateless
 * revision 2026-07-28 on a per-user pool of children (docs/mcp-services.md, "Protocol eras").
 *
 * Contract for whoever mounts it:
 * - served on its own listener, it gets `sharedSecret` and only requests carrying it (added by
 *   the edge) are served; mounted in-process, the caller's token check is the only way in;
 * - every `/mcp` request must carry the identity headers set by the gateway's token check
 *   (`X-User-Id`, and `X-User-Name`, `X-User-Email`, `X-Client-Id`, `X-Auth-Scopes` when known);
 *   the caller strips client-sent copies and the `Authorization` header first. Without
 *   `X-User-Id` the request is refused with 403 unless `config.allowAnonymous`;
 * - a session belongs to the user and client that opened it: any other gets 404 for its id;
 * - at `config.maxSessionsPerUser` (or `config.maxSessions`) a new session makes the user's (or
 *   anyone's) least recently used idle session give way; only when all are busy is it refused,
 *   with 429 (or 503) and `Retry-After`; sessions idle for `config.idleTimeoutMs` are ended;
 * - once more of a user's children ended by themselves than `config.childCrashRate` allows, the
 *   user's requests that would start another are refused with 429 and `Retry-After`;
 * - `Host` and `Origin` are checked against `config.allowedHosts`/`allowedOrigins` (403);
 * - `close()` must be awaited on shutdown, or children outlive the process.
 *
 * The service's package is resolved here, so a missing install throws at start, not on the first
 * request.
 *
 * @example
 * const bridge = createBridge({ service: findService('echo')!, config, logger })
 * gateway.use('/echo/mcp', tokenCheck).route('/echo', bridge.app)
 * process.once('SIGTERM', () => bridge.close())
 */
export function createBridge(deps: BridgeDeps): Bridge {
  const { service, config } = deps
  const logger = deps.logger.child({ service: service.name })
  const now = deps.now ?? Date.now
  const launch = resolveLaunch(service.launch)
  const metrics = deps.metrics ?? createBridgeMetrics(service.name)
  const refusals = boundedLog(logger, { perSecond: config.refusalLogRate, now })
  const registry = new SessionRegistry(config)
  const github = gitHubAccess(service, config, deps.userDirectory, logger)
  const crashRate = new CrashRate(config.childCrashRate, now, (userId, retryAfterSeconds) =>
    logger.warn(
      { event: 'child_crash_budget_spent', user: userId, retry_after_seconds: retryAfterSeconds },
      "this user's MCP server processes keep exiting or failing to start: their requests that would start one are refused (429) for now"
    )
  )
  const childUsers =
    deps.childUsers ??
    (config.childUser && createChildUsers(config.childUser, config.childUidRange, { logger }))
  const pool = new ChildPool({
    service,
    launch,
    config,
    logger,
    now,
    github,
    metrics,
    crashRate,
    childUsers,
  })
  metrics.gauge('bridge_sessions', 'MCP sessions alive or starting', () => registry.size)
  metrics.gauge(
    'bridge_pooled_children',
    "The stateless era's children (one per user and client)",
    () => pool.size
  )
  const servicePolicy = config.policy?.services[service.name] ?? service.policy
  const policy =
    servicePolicy &&
    new PolicyGate({
      policy: servicePolicy,
      serviceScopes: service.requiredScopes,
      directory: deps.userDirectory,
      resource: deps.resource,
      logger,
      refusals,
      now,
    })
  let accepting = true
  let notReadyReason: string | undefined
  let closing: Promise<void> | undefined

  const reaper = setInterval(() => {
    const time = now()
    for (const session of registry.sessions()) {
      if (session.id !== undefined && session.isIdle(time, config.idleTimeoutMs)) {
        void session.end('idle timeout')
      }
    }
    pool.sweep(time)
    crashRate.sweep(time)
  }, config.sweepIntervalMs)
  reaper.unref()

  const app = new Hono()
  // Public (a proxy's liveness check): no counts, which would tell anyone when the service is
  // used and by how many; the metrics have them.
  app.get('/health', (c) => c.json({ status: accepting ? 'ok' : 'closing', service: service.name }))
  // A proxy's readiness check: false from the start of a shutdown, so it stops sending.
  app.get('/ready', (c) =>
    notReadyReason === undefined
      ? c.json({ status: 'ready', service: service.name })
      : c.json({ status: 'unavailable', service: service.name, reason: notReadyReason }, 503)
  )
  app.use('/mcp', bridgeRequestMetrics(metrics))
  app.use('/mcp', coalescedWrites)
  if (deps.sharedSecret !== undefined)
    app.use('/mcp', sharedSecretGuard(deps.sharedSecret, refusals))
  app.use(
    '/mcp',
    ...requestGuard({
      allowedHosts: config.allowedHosts,
      allowedOrigins: config.allowedOrigins,
      publicUrl: deps.resource,
    })
  )
  // Several replicas: a session's requests go to the replica that started it.
  const owners =
    config.replicas === undefined
      ? undefined
      : ownerRouting({
          replicas: config.replicas,
          sharedSecret: config.sharedSecret,
          maxRequestBodyBytes: config.maxRequestBodyBytes,
          logger,
          refusals,
        })
  app.use(
    '/mcp',
    boundedInHand(
      {
        requestsPerUser: config.maxRequestsPerUser,
        bytesPerUser: config.maxRequestBytesPerUser,
        bytes: config.maxRequestBytes,
        maxBodyBytes: config.maxRequestBodyBytes,
      },
      config.allowAnonymous
    )
  )
  if (owners !== undefined) app.use('/mcp', owners.middleware)
  app.route(
    '/mcp',
    mcpRoute({
      service,
      launch,
      config,
      registry,
      pool,
      crashRate,
      childUsers,
      logger,
      refusals,
      now,
      accepting: () => accepting,
      policy,
      github,
      metrics,
      newSessionId: owners?.newSessionId,
      retryElsewhere: owners?.retryElsewhere,
    })
  )

  return {
    app,
    sessionCount: () => registry.size,
    pool,
    metrics,
    markNotReady(reason) {
      notReadyReason ??= reason
    },
    drain() {
      accepting = false
      notReadyReason ??= 'shutting down'
      for (const session of registry.sessions()) session.endStandaloneStream()
      pool.endStreams()
      owners?.endStreams()
    },
    close() {
      closing ??= (async () => {
        accepting = false
        clearInterval(reaper)
        owners?.close()
        await Promise.all([
          ...registry.sessions().map((session) => session.end('the bridge is shutting down')),
          pool.close(),
        ])
      })()
      return closing
    },
  }
}

/** How the service's children get the user's GitHub token, when it acts as the user there. */
function gitHubAccess(
  service: ServiceDefinition,
  config: BridgeConfig,
  directory: BridgeDeps['userDirectory'],
  logger: Logger
): GitHubAccess | undefined {
  if (!service.actAsGitHubUser) return undefined
  const githubToken = directory?.githubToken?.bind(directory)
  if (!githubToken) {
    logger.warn(
      { event: 'no_user_directory' },
      'this service acts as the user on GitHub but the bridge has no user directory (AUTH_INTERNAL_URL and INTERNAL_API_SECRET): its children start without a token'
    )
    return undefined
  }
  return {
    apiUrl: config.githubApiUrl,
    async githubToken(userId) {
      try {
        return await githubToken(userId)
      } catch (error) {
        logger.warn(
          { event: 'user_directory_unavailable', user: userId, err: error },
          "the user's GitHub token could not be fetched: their child starts without one"
        )
        throw error
      }
    },
  }
}
