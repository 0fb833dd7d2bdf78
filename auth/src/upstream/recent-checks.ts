import type { Clock } from '../clock.ts'
import type { TokenSubject } from '../oauth/access-token.ts'
import { keys } from '../store/keys.ts'
import type { Store } from '../store/store.ts'

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

/** The subject of a check of `userId` less than `intervalSeconds` old, or null. */
export async function findRecentCheck(
  store: Store,
  clock: Clock,
  userId: string,
  intervalSeconds: number
): Promise<TokenSubject | null> {
  if (intervalSeconds <= 0) return null
  const raw = await store.get(keys.recentCheck(userId))
  if (!raw) return null
  const check = JSON.parse(raw) as RecentCheck
  const age = clock.now() - check.checkedAt
  return check.subject.id === userId && age >= 0 && age < intervalSeconds * 1000
    ? check.subject
    : null
}

export async function recordRecentCheck(
  store: Store,
  clock: Clock,
  subject: TokenSubject,
  intervalSeconds: number
): Promise<void> {
  if (intervalSeconds <= 0) return
  const check: RecentCheck = { subject, checkedAt: clock.now() }
  await store.put(keys.recentCheck(subject.id), JSON.stringify(check), {
    ttlSeconds: intervalSeconds,
  })
}

/** After a refusal: the next refresh asks GitHub. */
export async function forgetRecentCheck(store: Store, userId: string): Promise<void> {
  await store.delete(keys.recentCheck(userId))
}
