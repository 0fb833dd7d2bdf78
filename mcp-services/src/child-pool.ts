import type { Logger } from 'pino'
import { type BridgeMetrics, countChild } from './bridge-metrics.ts'
import type { ServiceDefinition } from './catalog.ts'
import type { ChildUsers } from './child-ids.ts'
import { startChild } from './child-process.ts'
import { childSpecFor, type GitHubAccess } from './child-spec.ts'
import type { BridgeConfig } from './config.ts'
import { type CrashRate, CrashRateError } from './crash-rate.ts'
import type { Identity } from './identity.ts'
import { ownedIdPrefix } from './owner-routing.ts'
import { PooledChild } from './pooled-child.ts'
import type { ResolvedLaunch } from './resolve-launch.ts'

/** Every pooled child is busy and the pool is at `config.maxSessions`. */
export class PoolFullError extends Error {
  constructor() {
    super('every pooled MCP server is busy')
  }
}

/** Every one of the user's pooled children is busy and they hold `config.maxSessionsPerUser`. */
export class UserPoolFullError extends Error {
  constructor(limit: number) {
    super(`every one of your ${limit} MCP server processes here is busy`)
  }
}

export interface ChildPoolDeps {
  readonly service: ServiceDefinition
  readonly launch: ResolvedLaunch
  readonly config: BridgeConfig
  readonly logger: Logger
  readonly now: () => number
  /** Where a service acting as the user on GitHub gets their token (`child-spec.ts`). */
  readonly github?: GitHubAccess | undefined
  /** Counts each child's start and exit (docs/metrics.md). */
  readonly metrics: BridgeMetrics
  /** Each user's budget of children ending by themselves, shared with the session era. */
  readonly crashRate: CrashRate
  /** Who each child runs as (`CHILD_USER`, `CHILD_UID_RANGE`); absent: the bridge's user. */
  readonly childUsers?: ChildUsers | undefined
}

/**
 * The children serving the stateless era: one per user and client (per identity when the service
 * is given the identity, so a child's environment always matches who it serves), started and
 * initialized on the first request, shared by all of that client's stateless requests for the
 * user (JSON-RPC ids keep concurrent requests apart), ended once idle for `config.idleTimeoutMs`.
 * A child never serves another user, nor another client of the same user: the requests a child
 * sends (sampling, elicitation) go to one of the requests in flight on it, which must all come
 * from the same place. At most `config.maxSessionsPerUser` children per user and
 * `config.maxSessions` in all (counted apart from the sessions): at a cap the least recently used
 * idle child in the way ends, and with none idle the start is refused.
 */
export class ChildPool {
  readonly #deps: ChildPoolDeps
  readonly #children = new Map<string, PooledChild>()
  readonly #starting = new Map<
    string,
    { readonly userId: string; readonly started: Promise<PooledChild> }
  >()
  /** Children started but not yet initialized: `close()` ends them rather than wait. */
  readonly #initializing = new Set<PooledChild>()
  /**
   * Children ended for the calls their clients left, until they have exited: out of reach of
   * requests, but counted at the caps, or a user could keep several such processes ending at
   * once (one can take seconds) beyond the caps the bridge's memory is sized on.
   */
  readonly #ending = new Set<PooledChild>()

  constructor(deps: ChildPoolDeps) {
    this.#deps = deps
  }

  get size(): number {
    return this.#children.size + this.#starting.size + this.#ending.size
  }

  /**
   * The child for this user and client, started and initialized if there is none alive; a start
   * is refused with {@link CrashRateError} while the user's children keep ending by themselves,
   * with {@link UserPoolFullError} when the user's own children are all busy at their cap, and
   * with {@link PoolFullError} at the cap of busy children in all.
   */
  acquire(identity: Identity): Promise<PooledChild> {
    const key = this.#keyOf(identity)
    const existing = this.#children.get(key)
    if (existing && !existing.child.hasExited) {
      existing.lastUsed = this.#deps.now()
      return Promise.resolve(existing)
    }
    const starting = this.#starting.get(key)
    if (starting) return starting.started
    // Refused before anyone else's child is evicted for a start that will not happen.
    const wait = this.#deps.crashRate.secondsToWait(identity.userId)
    if (wait > 0) {
      this.#deps.metrics.childStartsRefused.inc({ era: 'stateless' })
      return Promise.reject(new CrashRateError(wait))
    }
    const { maxSessions, maxSessionsPerUser } = this.#deps.config
    const { userId } = identity
    // Making room under the user's cap makes room under the total too.
    if (
      this.#countFor(userId) >= maxSessionsPerUser &&
      !this.#evictLeastRecentlyUsed((pooled) => pooled.userId === userId)
    ) {
      return Promise.reject(new UserPoolFullError(maxSessionsPerUser))
    }
    if (this.size >= maxSessions && !this.#evictLeastRecentlyUsed(() => true)) {
      return Promise.reject(new PoolFullError())
    }
    const started = this.#start(key, identity).finally(() => this.#starting.delete(key))
    this.#starting.set(key, { userId, started })
    return started
  }

  /** The `subscriptions/listen` streams the user holds open, over all their children. */
  listenersOf(userId: string): number {
    let count = 0
    for (const pooled of this.#children.values()) {
      if (pooled.userId === userId) count += pooled.listeners.size
    }
    return count
  }

  #countFor(userId: string): number {
    let count = 0
    for (const pooled of this.#children.values()) if (pooled.userId === userId) count += 1
    for (const starting of this.#starting.values()) if (starting.userId === userId) count += 1
    for (const ending of this.#ending) if (ending.userId === userId) count += 1
    return count
  }

  /** Ends the children idle for the idle timeout. */
  sweep(now: number): void {
    for (const pooled of this.#children.values()) {
      if (pooled.isIdle(now, this.#deps.config.idleTimeoutMs)) {
        this.#children.delete(pooled.key)
        this.#deps.logger.info({ pid: pooled.child.pid }, 'pooled child ended: idle timeout')
        void pooled.close()
      }
    }
  }

  /** At a cap, the least recently used child in the way with nothing in flight gives way. */
  #evictLeastRecentlyUsed(inTheWay: (pooled: PooledChild) => boolean): boolean {
    const idle = [...this.#children.values()].filter(
      (pooled) => inTheWay(pooled) && pooled.inFlight === 0 && pooled.listeners.size === 0
    )
    const oldest = idle.sort((a, b) => a.lastUsed - b.lastUsed)[0]
    if (!oldest) return false
    this.#children.delete(oldest.key)
    this.#deps.logger.info({ pid: oldest.child.pid }, 'pooled child ended to make room')
    void oldest.close()
    return true
  }

  /** Pids of the children alive, for tests and health. */
  pids(): number[] {
    return [...this.#children.values()].map((pooled) => pooled.child.pid)
  }

  /** Ends every `subscriptions/listen` stream (shutdown); requests in flight go on. */
  endStreams(): void {
    for (const pooled of this.#children.values()) pooled.endStreams()
  }

  async close(): Promise<void> {
    for (const pooled of this.#initializing) void pooled.close()
    await Promise.allSettled([...this.#starting.values()].map((starting) => starting.started))
    const children = [...this.#children.values(), ...this.#ending]
    this.#children.clear()
    await Promise.all(children.map((pooled) => pooled.close()))
  }

  #keyOf(identity: Identity): string {
    if (!this.#deps.service.passIdentity) {
      return JSON.stringify([identity.userId, identity.clientId])
    }
    return JSON.stringify([
      identity.userId,
      identity.userName,
      identity.userEmail,
      identity.clientId,
      identity.scopes,
    ])
  }

  async #start(key: string, identity: Identity): Promise<PooledChild> {
    const { service, launch, config } = this.#deps
    const spec = await childSpecFor(
      service,
      launch,
      identity,
      { dataDir: config.dataDir, childUsers: this.#deps.childUsers },
      this.#deps.github
    )
    const logger = this.#deps.logger.child({ user: identity.userId, era: 'stateless' })
    const child = await startChild(spec, logger)
    countChild(child, 'stateless', this.#deps.metrics)
    this.#deps.crashRate.watch(identity.userId, child)
    const pooled = new PooledChild(key, identity.userId, child, this.#deps.now(), {
      statePrefix: ownedIdPrefix(config.replicas),
      abandonedAtMost: config.maxRequestsPerUser,
      now: this.#deps.now,
    })
    pooled.onOverworked = (abandoned) => {
      // Out of reach before it is ended: a child takes seconds to exit once its input is closed,
      // and the next request must start another, not reach it.
      if (this.#children.get(key) === pooled) this.#children.delete(key)
      this.#ending.add(pooled)
      logger.warn(
        { event: 'child_overworked', abandoned },
        'calls whose clients left are still running: the MCP server process is ended'
      )
    }
    void child.exited.then(() => {
      if (this.#children.get(key) === pooled) this.#children.delete(key)
      this.#ending.delete(pooled)
    })
    this.#initializing.add(pooled)
    try {
      await pooled.initialize(this.#relayedCapabilities(), config.childStartTimeoutMs)
    } catch (error) {
      // One that exited by itself is counted by `watch`; one stuck or refusing is ended here.
      if (!child.hasExited) this.#deps.crashRate.countFailedStart(identity.userId)
      await pooled.close()
      throw error
    } finally {
      this.#initializing.delete(pooled)
    }
    this.#children.set(key, pooled)
    logger.info({ pid: child.pid }, 'pooled child started')
    return pooled
  }

  /**
   * What the bridge can relay to a stateless client as input requests: sampling and form
   * elicitation. Roots are not declared: a child would ask for them with no request in flight.
   */
  #relayedCapabilities(): Record<string, unknown> {
    const capabilities: Record<string, unknown> = { sampling: {}, elicitation: { form: {} } }
    for (const name of this.#deps.service.hiddenClientCapabilities) delete capabilities[name]
    return capabilities
  }
}
