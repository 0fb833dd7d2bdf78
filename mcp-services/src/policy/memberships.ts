import type { Logger } from 'pino'
import type { Subject } from './evaluate.ts'

/**
 * The part of the user directory (the authorization server's `GET /internal/users/{id}`, or the
 * same lookup in process in standalone mode) that policy needs: a user's organisations and teams
 * by GitHub numeric id (structurally `UserDirectory.user` of user-directory.ts). Null or undefined:
 * the directory does not know the user.
 */
export interface MembershipDirectory {
  user(id: string): Promise<
    | {
        readonly organizations: readonly { readonly id: number | string }[]
        readonly teams: readonly { readonly id: number | string }[]
      }
    | null
    | undefined
  >
}

export interface MembershipCacheOptions {
  readonly logger: Logger
  readonly now: () => number
  /** How long a user's memberships are reused before the directory is asked again. */
  readonly ttlMs?: number
  /** Users kept at most; the oldest entry goes first. */
  readonly maxEntries?: number
}

export const MEMBERSHIP_TTL_MS = 30_000
/** How long a failed lookup is kept (as no membership) before the directory is asked again. */
export const FAILED_LOOKUP_TTL_MS = 5_000

interface Entry {
  readonly subject: Subject
  readonly expires: number
}

/**
 * A user's memberships, looked up in the directory at most once per `ttlMs` (30 s) per user, so a
 * session's every request does not ask the authorization server again; someone removed from a
 * team loses the team's tools within that time. A failed lookup counts as no membership (fail
 * closed: only rules naming the user by id still match) and is kept 5 s only, so an unreachable
 * directory costs each user one timeout per 5 s rather than one per request.
 */
export class MembershipCache {
  readonly #directory: MembershipDirectory | undefined
  readonly #options: MembershipCacheOptions
  readonly #entries = new Map<string, Entry>()
  readonly #pending = new Map<string, Promise<Subject>>()

  constructor(directory: MembershipDirectory | undefined, options: MembershipCacheOptions) {
    this.#directory = directory
    this.#options = options
  }

  async subject(userId: string): Promise<Subject> {
    const now = this.#options.now()
    const cached = this.#entries.get(userId)
    if (cached && cached.expires > now) return cached.subject
    const pending = this.#pending.get(userId)
    if (pending) return pending
    const lookup = this.#lookUp(userId).finally(() => this.#pending.delete(userId))
    this.#pending.set(userId, lookup)
    return lookup
  }

  async #lookUp(userId: string): Promise<Subject> {
    const alone: Subject = { userId, organizations: [], teams: [] }
    if (!this.#directory) return alone
    let found: Awaited<ReturnType<MembershipDirectory['user']>>
    try {
      found = await this.#directory.user(userId)
    } catch (error) {
      this.#options.logger.warn(
        { err: error, user: userId, event: 'membership_lookup_failed' },
        'could not look up the user in the directory; organisation and team rules do not match'
      )
      this.#remember(userId, alone, FAILED_LOOKUP_TTL_MS)
      return alone
    }
    const subject: Subject = {
      userId,
      organizations: (found?.organizations ?? []).map((org) => String(org.id)),
      teams: (found?.teams ?? []).map((team) => String(team.id)),
    }
    this.#remember(userId, subject, this.#options.ttlMs ?? MEMBERSHIP_TTL_MS)
    return subject
  }

  #remember(userId: string, subject: Subject, ttlMs: number): void {
    const max = this.#options.maxEntries ?? 10_000
    this.#entries.delete(userId)
    if (this.#entries.size >= max) {
      const oldest = this.#entries.keys().next().value
      if (oldest !== undefined) this.#entries.delete(oldest)
    }
    this.#entries.set(userId, { subject, expires: this.#options.now() + ttlMs })
  }
}
