import { type Clock, epochSeconds } from '../clock.ts'
import type { TokenSubject } from '../oauth/access-token.ts'
import { revocationLifetime, revokeFamilyMarker } from '../oauth/revocation.ts'
import { hashSecret, newSecret } from '../oauth/secrets.ts'
import { keys } from '../store/keys.ts'
import type { Store, WriteOperation } from '../store/store.ts'

/**
 * A refresh token family: every refresh token descending from one authorization. Each use of a
 * refresh token replaces it (rotation); presenting a replaced one means it leaked, and the whole
 * family is revoked, access tokens included (OAuth 2.1 §4.3.1, RFC 9700 §4.14.2).
 */
export interface RefreshFamily {
  readonly familyId: string
  readonly clientId: string
  readonly subject: TokenSubject
  /** What was granted; refreshes may ask for less, never more. */
  readonly scopes: readonly string[]
  readonly resources: readonly string[]
  readonly createdAt: number
  readonly currentTokenHash: string
}

export interface RefreshTokenLifetimes {
  readonly refreshTokenTtl: number
  /** Revocation markers must outlive every access token of the family. */
  readonly accessTokenTtl: number
}

export async function startRefreshFamily(
  store: Store,
  clock: Clock,
  family: Omit<RefreshFamily, 'createdAt' | 'currentTokenHash'>,
  ttl: RefreshTokenLifetimes
): Promise<string> {
  const token = newSecret()
  const record: RefreshFamily = {
    ...family,
    createdAt: epochSeconds(clock),
    currentTokenHash: hashSecret(token),
  }
  await store.batch([
    ...familyWrites(record, ttl.refreshTokenTtl),
    { op: 'addToSet', key: keys.userFamilies(family.subject.id), member: family.familyId },
    { op: 'addToSet', key: keys.clientFamilies(family.clientId), member: family.familyId },
  ])
  return token
}

export type RefreshLookup =
  | { readonly outcome: 'live'; readonly family: RefreshFamily }
  | { readonly outcome: 'reused'; readonly familyId: string }
  | { readonly outcome: 'unknown' }

/** Finds the family of a presented refresh token without using it up. */
export async function lookUpRefreshToken(store: Store, token: string): Promise<RefreshLookup> {
  const tokenHash = hashSecret(token)
  const [familyId, rotatedFrom] = await store.getMany([
    keys.refreshToken(tokenHash),
    keys.rotatedRefreshToken(tokenHash),
  ])
  if (familyId) {
    const raw = await store.get(keys.refreshFamily(familyId))
    const family = raw ? (JSON.parse(raw) as RefreshFamily) : null
    if (family?.currentTokenHash === tokenHash) return { outcome: 'live', family }
  }
  if (rotatedFrom) return { outcome: 'reused', familyId: rotatedFrom }
  return { outcome: 'unknown' }
}

/**
 * Replaces the presented refresh token with a new one. Returns null when another request used it
 * first (GETDEL decides): the caller treats that as reuse.
 */
export async function rotateRefreshToken(
  store: Store,
  family: RefreshFamily,
  token: string,
  ttl: RefreshTokenLifetimes,
  subject: TokenSubject = family.subject
): Promise<string | null> {
  const oldHash = hashSecret(token)
  if ((await store.take(keys.refreshToken(oldHash))) === null) return null
  const next = newSecret()
  const record: RefreshFamily = { ...family, subject, currentTokenHash: hashSecret(next) }
  await store.batch([
    ...familyWrites(record, ttl.refreshTokenTtl),
    {
      op: 'put',
      key: keys.rotatedRefreshToken(oldHash),
      value: family.familyId,
      ttlSeconds: ttl.refreshTokenTtl,
    },
  ])
  return next
}

/**
 * Revokes a family: its live refresh token goes, and a marker refuses its access tokens at
 * /verify and the family at refresh and introspection. The marker is written first and outlives
 * anything of the family (`revocationLifetime`): a family stored after it, by a request that raced
 * the revocation, stays refused.
 */
export async function revokeRefreshFamily(
  store: Store,
  familyId: string,
  ttl: RefreshTokenLifetimes
): Promise<void> {
  await revokeFamilyMarker(store, familyId, revocationLifetime(ttl))
  const raw = await store.get(keys.refreshFamily(familyId))
  const family = raw ? (JSON.parse(raw) as RefreshFamily) : null
  if (!family) return
  await store.batch([
    { op: 'delete', key: keys.refreshToken(family.currentTokenHash) },
    { op: 'delete', key: keys.refreshFamily(familyId) },
    { op: 'removeFromSet', key: keys.userFamilies(family.subject.id), member: familyId },
    { op: 'removeFromSet', key: keys.clientFamilies(family.clientId), member: familyId },
  ])
}

function familyWrites(family: RefreshFamily, ttlSeconds: number): WriteOperation[] {
  return [
    {
      op: 'put',
      key: keys.refreshToken(family.currentTokenHash),
      value: family.familyId,
      ttlSeconds,
    },
    {
      op: 'put',
      key: keys.refreshFamily(family.familyId),
      value: JSON.stringify(family),
      ttlSeconds,
    },
  ]
}
