import { type Clock, epochSeconds } from '../clock.ts'
import type { TokenSubject } from '../oauth/access-token.ts'
import { revocationLifetime } from '../oauth/revocation.ts'
import { hashSecret } from '../oauth/secrets.ts'
import { keys } from '../store/keys.ts'
import { type Marker, type Store, StoreFull, type WriteOperation } from '../store/store.ts'
import { parseRecord, parseUnlessDamaged } from '../store/stored-record.ts'
import { openSuccessor, type ReuseGrace } from './refresh-successor.ts'
import {
  issuedWithKey,
  newFamilyTokenKey,
  newRefreshToken,
  parseRefreshToken,
} from './refresh-token-format.ts'

/**
 * A refresh token family: every refresh token descending from one authorization. Each use of a
 * refresh token replaces it (rotation); presenting a replaced one means it leaked, and the whole
 * family is revoked, access tokens included (OAuth 2.1 §4.3.1, RFC 9700 §4.14.2), unless it comes
 * back within the reuse grace (`refresh-successor.ts`).
 */
export interface RefreshFamily {
  readonly familyId: string
  readonly clientId: string
  readonly subject: TokenSubject
  /** What was granted; refreshes may ask for less, never more. */
  readonly scopes: readonly string[]
  readonly resources: readonly string[]
  readonly createdAt: number
  /**
   * The hash of the family's live refresh token; absent when the client has no refresh grant:
   * the family then holds the access token of its grant alone, and lives as long as it does.
   */
  readonly currentTokenHash?: string
  /**
   * The grant that started the family (`authorization_code` or `device_code`), so a person can
   * tell a device session from an application; absent on families stored before it was recorded.
   */
  readonly grantType?: string
  /**
   * The key of the MACs in the family's refresh tokens (`refresh-token-format.ts`); absent on
   * families stored before tokens named their family, until their next rotation.
   */
  readonly tokenKey?: string
  /**
   * The generation of the live refresh token (1 for the first, one more at each rotation);
   * absent on families stored before tokens carried it.
   */
  readonly generation?: number
}

export interface RefreshTokenLifetimes {
  readonly refreshTokenTtl: number
  /** Revocation markers must outlive every access token of the family. */
  readonly accessTokenTtl: number
}

/** The family was revoked before it started (a replayed code racing its own redemption). */
export class RefreshFamilyRevoked extends Error {
  override readonly name = 'RefreshFamilyRevoked'
}

/**
 * Starts a family and answers its first refresh token. Nothing is written once the family's
 * revocation marker exists (`RefreshFamilyRevoked`): a revocation writes its marker before it
 * looks for the family, so a family is either found and removed by it, or never started.
 */
export async function startRefreshFamily(
  store: Store,
  clock: Clock,
  family: Omit<RefreshFamily, 'createdAt' | 'currentTokenHash'>,
  ttl: RefreshTokenLifetimes
): Promise<string> {
  const tokenKey = newFamilyTokenKey()
  const token = newRefreshToken(family.familyId, tokenKey, 1)
  const record: RefreshFamily = {
    ...family,
    createdAt: epochSeconds(clock),
    currentTokenHash: hashSecret(token),
    tokenKey,
    generation: 1,
  }
  await writeUnlessRevoked(store, family.familyId, familyWrites(record, ttl.refreshTokenTtl))
  return token
}

/**
 * The family of a grant whose client has no refresh grant: no refresh token, only the access token
 * issued now, and the record lives as long as that token. It is indexed like any family, so that
 * revoking the user's, the client's or the consent's tokens finds it, and `/account` lists it. A
 * client signing in every hour leaves a member an hour in those sets: revocations pass over
 * members whose record is gone (`liveFamilies`), and `purge-expired` drops them.
 */
export async function startAccessOnlyFamily(
  store: Store,
  clock: Clock,
  family: Omit<RefreshFamily, 'createdAt' | 'currentTokenHash'>,
  ttl: RefreshTokenLifetimes
): Promise<void> {
  const record: RefreshFamily = { ...family, createdAt: epochSeconds(clock) }
  // The token is signed after this write (an audit entry in between may wait on the store), and
  // its `exp` counts from then.
  const ttlSeconds = ttl.accessTokenTtl + ACCESS_ONLY_MARGIN_SECONDS
  await writeUnlessRevoked(store, family.familyId, familyWrites(record, ttlSeconds))
}

/** How much longer an access-only family is kept than its token's lifetime. */
const ACCESS_ONLY_MARGIN_SECONDS = 60

/** A family is written only while no revocation marks it (`RefreshFamilyRevoked` otherwise). */
async function writeUnlessRevoked(
  store: Store,
  familyId: string,
  writes: readonly WriteOperation[]
): Promise<void> {
  const started = await store.batch(writes, { unlessExists: keys.revokedFamily(familyId) })
  if (!started) throw new RefreshFamilyRevoked(`family ${familyId} was revoked`)
}

export type RefreshLookup =
  | {
      readonly outcome: 'live'
      readonly family: RefreshFamily
      /** The family was revoked while it was being created (a code replay racing it). */
      readonly revoked: boolean
      /**
       * The token is ahead of the store: a later generation than the family's live one, with the
       * family's MAC, in a family a restore brought back. The backup predates the rotation that
       * issued it: it is the client's newest token, not a replay. Believed once per restore (the
       * rotation takes the family's `family-restored:` mark), since the MAC key is in the backup.
       */
      readonly aheadOfStore?: true
    }
  /** Replaced within the reuse grace: the caller hands out `successor` again. */
  | {
      readonly outcome: 'just_rotated'
      readonly familyId: string
      readonly successor: string
      /** Past the grace: a rotation whose answer never reached its client. */
      readonly unconfirmed: boolean
    }
  | { readonly outcome: 'reused'; readonly familyId: string }
  | { readonly outcome: 'unknown' }

/**
 * Finds the family of a presented refresh token without using it up, and whether the family is
 * revoked: one round trip (`MGET`) for a token that names its family, two for one of the format
 * before. Without `grace`, a replaced token is `reused`, unless its rotation was never confirmed
 * to its client (`refresh-rotation.ts`).
 */
export async function lookUpRefreshToken(
  store: Store,
  token: string,
  grace?: ReuseGrace
): Promise<RefreshLookup> {
  const tokenHash = hashSecret(token)
  const named = parseRefreshToken(token)
  if (!named) return lookUpEarlierToken(store, token, tokenHash, grace)
  const [live, storedFamily, revoked, rotation, restored] = await store.getMany([
    keys.refreshToken(tokenHash),
    keys.refreshFamily(named.familyId),
    keys.revokedFamily(named.familyId),
    keys.refreshSuccessor(tokenHash),
    keys.restoredFamily(named.familyId),
  ])
  const family = parseRecord<RefreshFamily>(storedFamily, keys.refreshFamily(named.familyId))
  if (live === named.familyId && family?.currentTokenHash === tokenHash) {
    return { outcome: 'live', family, revoked: revoked !== null }
  }
  const successor = openSuccessor(token, tokenHash, rotation, grace, family?.currentTokenHash)
  if (successor) return { outcome: 'just_rotated', ...successor }
  // Not the live token, but one the family issued: it was rotated and came back, or a restored
  // backup predates the rotation that issued it.
  if (family?.tokenKey && issuedWithKey(named, family.tokenKey)) {
    const ahead = named.generation !== undefined && named.generation > (family.generation ?? 0)
    if (ahead && restored !== null) {
      return { outcome: 'live', family, revoked: revoked !== null, aheadOfStore: true }
    }
    return { outcome: 'reused', familyId: named.familyId }
  }
  return { outcome: 'unknown' }
}

/** A token issued before tokens named their family: found by hash, its reuse by its marker. */
async function lookUpEarlierToken(
  store: Store,
  token: string,
  tokenHash: string,
  grace?: ReuseGrace
): Promise<RefreshLookup> {
  const [familyId, rotatedFrom, rotation] = await store.getMany([
    keys.refreshToken(tokenHash),
    keys.rotatedRefreshToken(tokenHash),
    keys.refreshSuccessor(tokenHash),
  ])
  if (familyId) {
    const [storedFamily, revoked] = await store.getMany([
      keys.refreshFamily(familyId),
      keys.revokedFamily(familyId),
    ])
    const family = parseRecord<RefreshFamily>(storedFamily, keys.refreshFamily(familyId))
    if (family?.currentTokenHash === tokenHash) {
      return { outcome: 'live', family, revoked: revoked !== null }
    }
  }
  // A rotation of such a token never confirmed to its client is believed within the grace only:
  // the token that replaced it names its family, and the next such rotation is ordinary.
  const successor = openSuccessor(token, tokenHash, rotation, grace, undefined)
  if (successor) return { outcome: 'just_rotated', ...successor }
  if (rotatedFrom) return { outcome: 'reused', familyId: rotatedFrom }
  return { outcome: 'unknown' }
}

export async function findRefreshFamily(
  store: Store,
  familyId: string
): Promise<RefreshFamily | null> {
  const key = keys.refreshFamily(familyId)
  return parseRecord<RefreshFamily>(await store.get(key), key)
}

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

/**
 * The family's records and its entries in the index sets. Each write gives the family a full
 * lifetime, and its index sets at least as long, so an index set outlives every family in it and
 * expires by itself once they all could have.
 */
export function familyWrites(family: RefreshFamily, ttlSeconds: number): WriteOperation[] {
  const { familyId, currentTokenHash } = family
  return [
    ...(currentTokenHash === undefined
      ? []
      : [
          {
            op: 'put',
            key: keys.refreshToken(currentTokenHash),
            value: familyId,
            ttlSeconds,
          } as const,
        ]),
    {
      op: 'put',
      key: keys.refreshFamily(familyId),
      value: JSON.stringify(family),
      ttlSeconds,
    },
    { op: 'addToSet', key: keys.userFamilies(family.subject.id), member: familyId, ttlSeconds },
    { op: 'addToSet', key: keys.clientFamilies(family.clientId), member: familyId, ttlSeconds },
  ]
}
