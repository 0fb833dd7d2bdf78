import type { Session } from './session.ts'

export interface SessionLimits {
  readonly maxSessions: number
  readonly maxSessionsPerUser: number
}

/** Why a new session was refused. */
export type CapacityRefusal = 'total' | 'user'

/**
 * The live sessions of one bridge: counted per user from the moment their child is being started
 * (so a burst of `initialize` requests cannot overshoot a cap), looked up by session id once
 * initialized.
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

  /** Holds a place for a session being created, or says which cap refuses it. */
  reserve(userId: string): CapacityRefusal | undefined {
    if (this.size >= this.#limits.maxSessions) return 'total'
    if (this.countFor(userId) >= this.#limits.maxSessionsPerUser) return 'user'
    this.#reserved.set(userId, (this.#reserved.get(userId) ?? 0) + 1)
    return undefined
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
}

function sum(counts: Map<string, number>): number {
  let total = 0
  for (const count of counts.values()) total += count
  return total
}
