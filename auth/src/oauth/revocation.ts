import { type Clock, epochSeconds } from '../clock.ts'
import type { Config } from '../config.ts'
import { keys } from '../store/keys.ts'
import type { Marker, Store } from '../store/store.ts'

// Revocation markers: one key per revoked access token (`jti`), per revoked refresh token family
// and per deleted client, each living at least as long as what it revokes could still be used.
// Checking all three is one `MGET`, so `/verify` stays O(1) with a single round trip.

/**
 * Marks an access token revoked. True when this call did: false for a token already revoked (a
 * repeated or parallel revocation, which changes nothing and so is not audited again) or expired.
 */
export async function revokeAccessToken(
  store: Store,
  clock: Clock,
  jti: string,
  expiresAt: number
): Promise<boolean> {
  const ttl = expiresAt - epochSeconds(clock)
  if (ttl <= 0) return false
  return store.put(keys.revokedAccessToken(jti), '1', { ttlSeconds: ttl, onlyIfAbsent: true })
}

export interface TokenLifetimes {
  readonly refreshTokenTtl: number
  readonly accessTokenTtl: number
}

export function tokenLifetimes(config: Pick<Config, 'ttl'>): TokenLifetimes {
  return { refreshTokenTtl: config.ttl.refreshToken, accessTokenTtl: config.ttl.accessToken }
}

/**
 * How long a family or client marker lives. What it revokes may be written after it: a request
 * that raced the revocation (the winner of a replayed code, a rotation in flight, a token request
 * of a client being deleted) stores its refresh family and signs its access token a moment later,
 * and they then live `REFRESH_TOKEN_TTL` and `ACCESS_TOKEN_TTL` from that moment. The sum of both
 * outlives them whichever write lands first.
 */
export function revocationLifetime(ttl: TokenLifetimes): number {
  return ttl.refreshTokenTtl + ttl.accessTokenTtl
}

/**
 * The marker that refuses every token ever issued to a client (the client was deleted), for
 * `ttlSeconds`: `revocationLifetime`, unless less is enough.
 */
export function clientMarker(clientId: string, ttlSeconds: number): Marker {
  return { key: keys.revokedClient(clientId), value: '1', ttlSeconds }
}

/** What identifies an access token to the revocation check. */
export interface RevocableToken {
  readonly jti: string
  readonly familyId: string | undefined
  readonly clientId: string
}

/** Whether an access token, the family it came from, or its client has been revoked. */
export async function isRevoked(store: Store, token: RevocableToken): Promise<boolean> {
  const lookups = [keys.revokedAccessToken(token.jti), keys.revokedClient(token.clientId)]
  if (token.familyId) lookups.push(keys.revokedFamily(token.familyId))
  const markers = await store.getMany(lookups)
  return markers.some((marker) => marker !== null)
}

/** Whether a refresh family has been revoked (its marker outlives everything of the family). */
export async function isFamilyRevoked(store: Store, familyId: string): Promise<boolean> {
  return (await store.get(keys.revokedFamily(familyId))) !== null
}

/**
 * The families of `familyIds` whose record still exists. A family's record outlives every token
 * it issued (revoked, it is deleted after its marker is written), so an index member without one
 * has nothing left to revoke: no marker is written for it.
 */
export async function liveFamilies(store: Store, familyIds: readonly string[]): Promise<string[]> {
  const live: string[] = []
  for (let start = 0; start < familyIds.length; start += 500) {
    const batch = familyIds.slice(start, start + 500)
    const records = await store.getMany(batch.map((id) => keys.refreshFamily(id)))
    live.push(...batch.filter((_, at) => records[at] !== null))
  }
  return live
}
