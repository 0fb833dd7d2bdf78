import { type Clock, epochSeconds } from '../clock.ts'
import { keys } from '../store/keys.ts'
import type { Store } from '../store/store.ts'
import { parseRecord } from '../store/stored-record.ts'
import type { MembershipOrganization, MembershipTeam, UpstreamUser } from '../upstream/upstream.ts'

/**
 * A user as last checked at the identity provider: who they are and the memberships the
 * gateway's policies asked about. The internal API serves it as it is stored (the field names
 * are that contract's, `docs/internal-api.md`).
 */
export interface CheckedUser {
  readonly id: string
  readonly login: string
  readonly organizations: readonly MembershipOrganization[]
  readonly teams: readonly MembershipTeam[]
  /** Seconds since the epoch. */
  readonly checked_at: number
}

/**
 * Written at every check that let the user in (sign-in, refresh, a remembered session's
 * re-check), for as long as the upstream grant is kept.
 */
export async function recordCheckedUser(
  store: Store,
  clock: Clock,
  user: UpstreamUser,
  ttlSeconds: number
): Promise<void> {
  const record: CheckedUser = {
    id: user.subject.id,
    login: user.subject.login,
    organizations: user.memberships.organizations,
    teams: user.memberships.teams,
    checked_at: epochSeconds(clock),
  }
  await store.put(keys.checkedUser(user.subject.id), JSON.stringify(record), { ttlSeconds })
}

export async function findCheckedUser(store: Store, userId: string): Promise<CheckedUser | null> {
  const raw = await store.get(keys.checkedUser(userId))
  return parseRecord<CheckedUser>(raw, keys.checkedUser(userId))
}

/** After a refusal: the user is no longer known to the internal API. */
export async function forgetCheckedUser(store: Store, userId: string): Promise<void> {
  await store.delete(keys.checkedUser(userId))
}
