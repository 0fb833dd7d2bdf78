import { revocationLifetime } from '../oauth/revocation.ts'
import { keys } from '../store/keys.ts'
import { type Marker, type Store, StoreFull, type WriteOperation } from '../store/store.ts'
import { parseUnlessDamaged } from '../store/stored-record.ts'
import type { RefreshFamily, RefreshTokenLifetimes } from './refresh-tokens.ts'

/** What revoking a family did. */
export interface FamilyRevocation {
  /** The marker is written (false: the store is full, see `revokeRefreshFamily`). */
  readonly marked: boolean
  /**
   * This call revoked the family: none before it had (a repeated or parallel revocation, a replay
   * of a family already refused, finds it done). Only such a revocation is audited, so replays
   * and repeats cannot flood the trail or move the counters.
   */
  readonly revokedNow: boolean
  /** The family's record as this call removed it (null: gone already, or damaged). */
  readonly family: RefreshFamily | null
  /** This call wrote the `occasion` marker it was given (false without one). */
  readonly firstOccasion: boolean
}

/**
 * Revokes a family: its live refresh token goes, and a marker refuses its access tokens at
 * /verify and the family at refresh and introspection. The marker is written first and outlives
 * anything of the family (`revocationLifetime`): a family stored after it, by a request that raced
 * the revocation, stays refused.
 *
 * A full store (`StoreFull`) refuses the marker, a write, but not the deletions: the family record
 * and its live refresh token still go, so refreshing stops at once. Only the family's access
 * tokens then live until they expire; the result says so (`marked: false`) for the caller to log.
 */
export async function revokeRefreshFamily(
  store: Store,
  familyId: string,
  ttl: RefreshTokenLifetimes,
  /** A marker of the occasion (a replayed code's), written in the same step: `firstOccasion`. */
  occasion?: Marker
): Promise<FamilyRevocation> {
  const key = keys.refreshFamily(familyId)
  const marker = {
    key: keys.revokedFamily(familyId),
    value: '1',
    ttlSeconds: revocationLifetime(ttl),
  }
  // One step: of revocations racing (parallel replays, on several replicas), the one that takes
  // the record, or writes the marker when no record is left, is the one that revoked.
  const markers = occasion ? [marker, occasion] : [marker]
  const step = await store.markAndTake(markers, key).catch((error: unknown) => {
    if (error instanceof StoreFull) return undefined
    throw error
  })
  // A full store refuses the marker, a write, but not the deletions.
  const taken = step ? step.taken : await store.take(key)
  const marked = step !== undefined
  const revokedNow = taken !== null || step?.marked[0] === true
  // Without the store's word (full), whoever took the record counts as the first.
  const firstOccasion = step ? step.marked[1] === true : taken !== null
  // A damaged record cannot hold the revocation up: the marker refuses the family anyway.
  const family = parseUnlessDamaged<RefreshFamily>(taken, key)
  if (!family) {
    await store.delete(keys.restoredFamily(familyId))
    return { marked, revokedNow, family, firstOccasion }
  }
  const indexes = [keys.userFamilies(family.subject.id), keys.clientFamilies(family.clientId)]
  const liveToken = family.currentTokenHash ? [keys.refreshToken(family.currentTokenHash)] : []
  // Deletions only: a full store that refused the marker still takes them.
  await store.batch([
    ...liveToken.map((key): WriteOperation => ({ op: 'delete', key })),
    { op: 'delete', key: keys.restoredFamily(familyId) },
    ...indexes.map((key): WriteOperation => ({ op: 'removeFromSet', key, member: familyId })),
  ])
  return { marked, revokedNow, family, firstOccasion }
}
