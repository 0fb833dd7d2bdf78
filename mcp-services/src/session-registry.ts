import type { Session } from './session.ts'

export interface SessionLimits {
  readonly maxSessions: number
  readonly maxSessionsPerUser: number
  /** A session unused this long (nothing in flight) may be ended whether a stream is open or not. */
  readonly idleTimeoutMs: number
}

/** Which cap a new session ran into. */
export type SessionCap = 'total' | 'user'

/** The answer to a new session: a place held for it, or a refusal. */
export type Admission =
  | {
      readonly admitted: true
      /** A session that gave way to this one; the caller ends it before starting the new one. */
      readonly evicted: { readonly session: Session; readonly cap: SessionCap } | undefined
    }
  | {
      readonly admitted: false
      readonly cap: SessionCap
      /** Seconds until the first session in the way can reach the idle timeout. */
      readonly retryAfterSeconds: number
    }

/**
 * The live sessions of one bridge: counted per user from the moment their child is being started
 * (so a burst of `initialize` requests cannot overshoot a cap), looked up by session id once
 * initialized.
 *
 * Clients rarely end their sessions (the SDK clients' `close()` sends no DELETE), so at a cap the
 * least recently used idle session gives way to the new one: the user's own at the per-user cap,
 * anyone's at the total cap. Idle means nothing in flight and no stream open, or unused for the
 * idle timeout. Only when every session in the way is busy is the new one refused.
 */
export class SessionRegistry {
  readonly #limits: SessionLimits
  readonly #byId = new Map<string, Session>()
  readonly #all = new Set<Session>()
  readonly #reserved = new Map<string, number>()

  constructor(limits: SessionLimits) {
    this.#limits = limits
  }

  get size(): number {
    return this.#all.size + sum(this.#reserved)
  }

  countFor(userId: string): number {
    let count = this.#reserved.get(userId) ?? 0
    for (const session of this.#all) if (session.identity.userId === userId) count += 1
    return count
  }

  /** The requests of `userId` that their sessions' children have not answered yet. */
  requestsInFlightFor(userId: string): number {
    let count = 0
    for (const session of this.#all) {
      if (session.identity.userId === userId) count += session.requestsInFlight
    }
    return count
  }

  /**
   * Holds a place for a new session of `userId`, making room by evicting an idle session when a
   * cap is reached (it is forgotten at once, so its id answers 404 from now on), or refuses.
   */
  admit(userId: string, now: number): Admission {
    const userFull = this.countFor(userId) >= this.#limits.maxSessionsPerUser
    const totalFull = this.size >= this.#limits.maxSessions
    let evicted: { session: Session; cap: SessionCap } | undefined
    if (userFull || totalFull) {
      const cap: SessionCap = userFull ? 'user' : 'total'
      // At the user's cap only one of their own sessions makes room under both caps.
      const inTheWay = [...this.#all].filter(
        (session) => cap === 'total' || session.identity.userId === userId
      )
      const session = leastRecentlyUsed(inTheWay.filter((s) => this.#evictable(s, now)))
      if (!session) {
        const starting = cap === 'user' ? (this.#reserved.get(userId) ?? 0) : sum(this.#reserved)
        return {
          admitted: false,
          cap,
          retryAfterSeconds: this.#retryAfter(inTheWay, starting, now),
        }
      }
      this.forget(session)
      evicted = { session, cap }
    }
    this.#reserved.set(userId, (this.#reserved.get(userId) ?? 0) + 1)
    return { admitted: true, evicted }
  }

  /** Gives back a reservation: turned into a tracked session, or abandoned. */
  release(userId: string): void {
    const left = (this.#reserved.get(userId) ?? 0) - 1
    if (left > 0) this.#reserved.set(userId, left)
    else this.#reserved.delete(userId)
  }

  track(session: Session): void {
    this.#all.add(session)
  }

  indexById(session: Session): void {
    if (session.id !== undefined) this.#byId.set(session.id, session)
  }

  forget(session: Session): void {
    this.#all.delete(session)
    if (session.id !== undefined && this.#byId.get(session.id) === session) {
      this.#byId.delete(session.id)
    }
  }

  get(id: string): Session | undefined {
    return this.#byId.get(id)
  }

  sessions(): Session[] {
    return [...this.#all]
  }

  #evictable(session: Session, now: number): boolean {
    if (session.id === undefined || session.ended) return false
    return !session.busy || session.isIdle(now, this.#limits.idleTimeoutMs)
  }

  /**
   * The wait after which, if no client uses them again, one of the sessions in the way will have
   * reached the idle timeout and can give way. A session starting now counts as just used.
   */
  #retryAfter(inTheWay: readonly Session[], starting: number, now: number): number {
    const idleMs = this.#limits.idleTimeoutMs
    let earliest = starting > 0 ? now + idleMs : Number.POSITIVE_INFINITY
    for (const session of inTheWay) {
      // A session being ended is about to free its place.
      const deadline = session.ended ? now : session.idleDeadline(now, idleMs)
      earliest = Math.min(earliest, deadline)
    }
    if (!Number.isFinite(earliest)) earliest = now + idleMs
    return Math.max(1, Math.ceil((earliest - now) / 1000))
  }
}

function leastRecentlyUsed(sessions: readonly Session[]): Session | undefined {
  let oldest: Session | undefined
  for (const session of sessions) {
    if (!oldest || session.lastUsed < oldest.lastUsed) oldest = session
  }
  return oldest
}

function sum(counts: Map<string, number>): number {
  let total = 0
  for (const count of counts.values()) total += count
  return total
}
