import type { Clock } from '../clock.ts'
import { LruCache } from '../lru-cache.ts'
import type { TokenSubject } from '../oauth/access-token.ts'
import { keys } from '../store/keys.ts'
import type { Store } from '../store/store.ts'
import { parseRecord } from '../store/stored-record.ts'

/**
 * The user as the last re-check that let them in found them, for `USER_RECHECK_INTERVAL`
 * seconds: refreshes within it reuse that answer instead of asking GitHub again. GitHub is asked
 * at most once per user per interval however many clients and sessions refresh (they share one
 * GitHub grant, and so one rate limit), and someone who leaves is cut off within the interval.
 * The subject kept is the whole one (organisations and teams included), so a token minted from
 * it carries the same memberships; the memberships themselves stay in `checked-user:`.
 */
interface RecentCheck {
  readonly subject: TokenSubject
  /** Milliseconds since the epoch, by the gateway's clock (which decides, not the store's TTL). */
  readonly checkedAt: number
}

/**
 * The recent checks, kept in the store for every replica, and believed in this process too, so
 * a refresh of a user it has seen within the interval costs no read of the store. A belief never
 * outlives the check it copies: it ends when the interval since that check does, so the cut-off
 * is the same. What it gives up is a refusal seen by another replica in the meantime: there the
 * next refresh asks GitHub again at once, here only when the interval is over (or the family is
 * revoked, which every replica reads with the refresh token).
 */
export interface RecentChecks {
  /** The subject of a check of `userId` less than `intervalSeconds` old, or null. */
  find(userId: string, intervalSeconds: number): Promise<TokenSubject | null>
  record(subject: TokenSubject, intervalSeconds: number): Promise<void>
  /** After a refusal: the next refresh asks GitHub. */
  forget(userId: string): Promise<void>
}

/** One belief per user, for as many users as refresh within an interval on a busy replica. */
const BELIEVED_USERS = 10_000

export function recentChecks(store: Store, clock: Clock): RecentChecks {
  const believed = new LruCache<string, RecentCheck>(BELIEVED_USERS)
  const fresh = (check: RecentCheck, userId: string, intervalSeconds: number) => {
    const age = clock.now() - check.checkedAt
    return check.subject.id === userId && age >= 0 && age < intervalSeconds * 1000
  }
  return {
    async find(userId, intervalSeconds) {
      if (intervalSeconds <= 0) return null
      const known = believed.get(userId)
      if (known && fresh(known, userId, intervalSeconds)) return known.subject
      // Not seen here lately, or seen too long ago: another replica may have checked since.
      const raw = await store.get(keys.recentCheck(userId))
      const check = parseRecord<RecentCheck>(raw, keys.recentCheck(userId))
      if (!check || !fresh(check, userId, intervalSeconds)) return null
      believed.set(userId, check)
      return check.subject
    },
    async record(subject, intervalSeconds) {
      if (intervalSeconds <= 0) return
      const check: RecentCheck = { subject, checkedAt: clock.now() }
      believed.set(subject.id, check)
      await store.put(keys.recentCheck(subject.id), JSON.stringify(check), {
        ttlSeconds: intervalSeconds,
      })
    },
    async forget(userId) {
      believed.delete(userId)
      await store.delete(keys.recentCheck(userId))
    },
  }
}
