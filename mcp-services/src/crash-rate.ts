import type { ChildConnection } from './child-process.ts'

/** How many of a user's children may end by themselves at once, all regained over `windowMs`. */
export interface CrashRateLimits {
  readonly burst: number
  readonly windowMs: number
}

/** The user's children keep ending by themselves: no new one is started for now. */
export class CrashRateError extends Error {
  readonly retryAfterSeconds: number

  constructor(retryAfterSeconds: number) {
    super("this user's MCP server processes keep exiting")
    this.retryAfterSeconds = retryAfterSeconds
  }
}

/** Told once each time a user's budget runs out: the operator's sign of a broken server. */
export type CrashBudgetSpent = (userId: string, retryAfterSeconds: number) => void

/**
 * Each user's budget of children ending by themselves (a crash, an exit at start) or failing
 * to start (no answer to `initialize` in time, or a refusal), a token
 * bucket shared by both eras: once it is spent, the user's requests that would start a child
 * are refused until a token is regained, so a server that dies at start cannot turn every
 * request into a new process. A child the bridge ends (idle, evicted, deleted, shutdown) costs
 * nothing, so neither a user reusing a live child nor one opening sessions in quick succession
 * (one per call, as one-shot clients do) is ever limited.
 *
 * Kept as one number per user, the time their bucket is full again (the generic cell rate
 * algorithm), and only while it is not full: `sweep` forgets the rest, so the map holds just the
 * users whose children ended by themselves within the last window.
 */
export class CrashRate {
  readonly #windowMs: number
  readonly #emissionMs: number
  /** How far ahead of now a user's full-again time may run while a start is still allowed. */
  readonly #toleranceMs: number
  readonly #now: () => number
  readonly #onSpent: CrashBudgetSpent | undefined
  readonly #fullAt = new Map<string, number>()

  constructor(limits: CrashRateLimits, now: () => number, onSpent?: CrashBudgetSpent) {
    this.#windowMs = limits.windowMs
    this.#emissionMs = limits.windowMs / limits.burst
    this.#toleranceMs = limits.windowMs - this.#emissionMs
    this.#now = now
    this.#onSpent = onSpent
  }

  /** Users with a crash counted in the last window. */
  get size(): number {
    return this.#fullAt.size
  }

  /** Seconds until `userId` may start a child; 0 when they may now. */
  secondsToWait(userId: string): number {
    const now = this.#now()
    const ahead = this.#fullAtFrom(userId, now) - now - this.#toleranceMs
    return ahead <= 0 ? 0 : Math.max(1, Math.ceil(ahead / 1000))
  }

  /** Counts the child against `userId` if it ends without the bridge having asked it to. */
  watch(userId: string, child: Pick<ChildConnection, 'exited' | 'closeRequested'>): void {
    void child.exited.then(() => {
      if (!child.closeRequested) this.#spend(userId)
    })
  }

  /**
   * Counts a child that failed to start and that the bridge ends itself (so `watch` does not
   * count it): a server stuck at start costs a process and the start timeout each time too.
   */
  countFailedStart(userId: string): void {
    this.#spend(userId)
  }

  /** Forgets the users whose bucket is full again. */
  sweep(now: number): void {
    for (const [userId, fullAt] of this.#fullAt) {
      if (fullAt <= now) this.#fullAt.delete(userId)
    }
  }

  /**
   * Several children crashing at once (concurrent starts) empty the bucket but run no debt
   * beyond it: the wait after a storm is one token's, never longer.
   */
  #spend(userId: string): void {
    const allowedBefore = this.secondsToWait(userId) === 0
    const now = this.#now()
    const fullAt = Math.min(this.#fullAtFrom(userId, now) + this.#emissionMs, now + this.#windowMs)
    this.#fullAt.set(userId, fullAt)
    const wait = this.secondsToWait(userId)
    if (allowedBefore && wait > 0) this.#onSpent?.(userId, wait)
  }

  #fullAtFrom(userId: string, now: number): number {
    return Math.max(this.#fullAt.get(userId) ?? now, now)
  }
}
