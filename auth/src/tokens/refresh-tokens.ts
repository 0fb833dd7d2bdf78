import { type Clock, epochSeconds } from '../clock.ts'
import type { TokenSubject } from '../oauth/access-token.ts'
import { hashSecret } from '../oauth/secrets.ts'
import { keys } from '../store/keys.ts'
import type { Store, WriteOperation } from '../store/store.ts'
import { parseRecord } from '../store/stored-record.ts'
import { newFamilyTokenKey, newRefreshToken } from './refresh-token-format.ts'

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

export async function findRefreshFamily(
  store: Store,
  familyId: string
): Promise<RefreshFamily | null> {
  const key = keys.refreshFamily(familyId)
  return parseRecord<RefreshFamily>(await store.get(key), key)
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
