import type { AuditClient, AuditUser } from '../audit/audit-events.ts'
import type { ClientRecord } from '../clients/client-registry.ts'
import { revocationLifetime } from '../oauth/revocation.ts'
import { keys } from '../store/keys.ts'
import type { Marker, Store, WriteOperation } from '../store/store.ts'
import { parseUnlessDamaged } from '../store/stored-record.ts'
import type { RefreshFamily, RefreshTokenLifetimes } from './refresh-tokens.ts'

/** What revoking a family did. */
export interface FamilyRevocation {
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
 * A full store takes it all: the marker and the taking run past `maxmemory` (`markAndTake`), and
 * the rest only deletes.
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
  const { taken, marked } = await store.markAndTake(markers, key)
  const revokedNow = taken !== null || marked[0] === true
  const firstOccasion = marked[1] === true
  // A damaged record cannot hold the revocation up: the marker refuses the family anyway.
  const family = parseUnlessDamaged<RefreshFamily>(taken, key)
  if (!family) {
    await store.delete(keys.restoredFamily(familyId))
    return { revokedNow, family, firstOccasion }
  }
  const indexes = [keys.userFamilies(family.subject.id), keys.clientFamilies(family.clientId)]
  const liveToken = family.currentTokenHash ? [keys.refreshToken(family.currentTokenHash)] : []
  // Deletions only: a full store takes them too.
  await store.batch([
    ...liveToken.map((key): WriteOperation => ({ op: 'delete', key })),
    { op: 'delete', key: keys.restoredFamily(familyId) },
    ...indexes.map((key): WriteOperation => ({ op: 'removeFromSet', key, member: familyId })),
  ])
  return { revokedNow, family, firstOccasion }
}

/**
 * Whom a reuse detection is about: the family's user and the client it was issued to, whose
 * tokens the detection revoked. A replay by another client (one that got hold of the leaked
 * credential) names that client as well. Without the family's record, only the presenter is known.
 */
export function reuseDetectedAbout(
  family: RefreshFamily | null,
  presenter: ClientRecord
): { user?: AuditUser; client: AuditClient; presented_by_client_id?: string } {
  const user = family ? { user: family.subject } : {}
  if (!family || family.clientId === presenter.client_id) return { ...user, client: presenter }
  return {
    ...user,
    client: { client_id: family.clientId },
    presented_by_client_id: presenter.client_id,
  }
}
