import { type Clock, epochSeconds } from '../clock.ts'
import { keys } from '../store/keys.ts'
import type { Store } from '../store/store.ts'

/**
 * Revocation markers: one key per revoked access token (`jti`) and per revoked refresh token
 * family, each living exactly as long as what it revokes could still be used. Checking both is
 * one `MGET`, so `/verify` stays O(1) with a single round trip.
 */
export async function revokeAccessToken(
  store: Store,
  clock: Clock,
  jti: string,
  expiresAt: number
): Promise<void> {
  const ttl = expiresAt - epochSeconds(clock)
  if (ttl > 0) await store.put(keys.revokedAccessToken(jti), '1', { ttlSeconds: ttl })
}

/** Marks a whole family revoked for `ttlSeconds` (the longest any of its tokens can live). */
export async function revokeFamilyMarker(
  store: Store,
  familyId: string,
  ttlSeconds: number
): Promise<void> {
  await store.put(keys.revokedFamily(familyId), '1', { ttlSeconds })
}

/** Whether an access token, or the family it came from, has been revoked. */
export async function isRevoked(
  store: Store,
  jti: string,
  familyId: string | undefined
): Promise<boolean> {
  const lookups = familyId
    ? [keys.revokedAccessToken(jti), keys.revokedFamily(familyId)]
    : [keys.revokedAccessToken(jti)]
  const markers = await store.getMany(lookups)
  return markers.some((marker) => marker !== null)
}

/** Whether a refresh family has been revoked (its marker outlives its access tokens). */
export async function isFamilyRevoked(store: Store, familyId: string): Promise<boolean> {
  return (await store.get(keys.revokedFamily(familyId))) !== null
}
