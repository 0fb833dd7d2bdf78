import { type Clock, epochSeconds } from '../clock.ts'
import { keyPrefixes, keys } from '../store/keys.ts'
import type { Store } from '../store/store.ts'
import {
  type RefreshFamily,
  type RefreshTokenLifetimes,
  revokeRefreshFamily,
} from '../tokens/refresh-tokens.ts'

/**
 * The operator's view of issued tokens: refresh token families (one per authorization, each with
 * the access tokens it issued), never a token value. Revoking a family deletes its live refresh
 * token and sets the family marker `/verify` checks, so its access tokens are refused too.
 */
export interface TokenFilter {
  /** The user's GitHub numeric id or login. */
  readonly user?: string | undefined
  readonly client?: string | undefined
  readonly family?: string | undefined
}

/** One family as listed: who, which client, what was granted, when (ISO 8601). */
export interface FamilyListing {
  readonly id: string
  readonly user_id: string
  readonly user_login: string
  readonly client_id: string
  readonly scopes: readonly string[]
  readonly resources: readonly string[]
  readonly created_at: string
  /**
   * When the family last issued a refresh token: its expiry is renewed by every refresh, so this
   * is the expiry minus REFRESH_TOKEN_TTL (the creation time when it was never refreshed).
   */
  readonly last_refreshed_at: string
  readonly expires_at: string | null
}

export function describeFamily(
  family: RefreshFamily,
  expiresAt: number | null,
  refreshTokenTtl: number
): FamilyListing {
  const lastRefreshed =
    expiresAt === null ? family.createdAt : Math.max(family.createdAt, expiresAt - refreshTokenTtl)
  return {
    id: family.familyId,
    user_id: family.subject.id,
    user_login: family.subject.login,
    client_id: family.clientId,
    scopes: family.scopes,
    resources: family.resources,
    created_at: isoDate(family.createdAt),
    last_refreshed_at: isoDate(lastRefreshed),
    expires_at: expiresAt === null ? null : isoDate(expiresAt),
  }
}

export function matchesFilter(family: RefreshFamily, filter: TokenFilter): boolean {
  const user = filter.user?.toLowerCase()
  return (
    (filter.family === undefined || family.familyId === filter.family) &&
    (filter.client === undefined || family.clientId === filter.client) &&
    (user === undefined ||
      family.subject.id === filter.user ||
      family.subject.login.toLowerCase() === user)
  )
}

/** The live refresh families matching `filter`, oldest first. */
export async function listTokenFamilies(
  store: Store,
  clock: Clock,
  refreshTokenTtl: number,
  filter: TokenFilter = {}
): Promise<FamilyListing[]> {
  const now = epochSeconds(clock)
  const found = await findFamilies(store, filter)
  const listed = await Promise.all(
    found.map(async (family) => {
      const ttl = await store.ttl(keys.refreshFamily(family.familyId))
      return describeFamily(family, ttl === null ? null : now + ttl, refreshTokenTtl)
    })
  )
  return listed.sort((a, b) => a.created_at.localeCompare(b.created_at))
}

/**
 * Revokes every family matching `filter` (at least one criterion). A family id that names no live
 * family still gets its marker: its access tokens may outlive the family record.
 */
export async function revokeTokenFamilies(
  store: Store,
  clock: Clock,
  lifetimes: RefreshTokenLifetimes,
  filter: TokenFilter
): Promise<{ revoked: FamilyListing[]; markedOnly: string[] }> {
  const revoked = await listTokenFamilies(store, clock, lifetimes.refreshTokenTtl, filter)
  for (const family of revoked) await revokeRefreshFamily(store, family.id, lifetimes)
  const markedOnly: string[] = []
  if (filter.family !== undefined && revoked.length === 0 && isFamilyId(filter.family)) {
    await revokeRefreshFamily(store, filter.family, lifetimes)
    markedOnly.push(filter.family)
  }
  return { revoked, markedOnly }
}

async function findFamilies(store: Store, filter: TokenFilter): Promise<RefreshFamily[]> {
  if (filter.family !== undefined) {
    const raw = await store.get(keys.refreshFamily(filter.family))
    const family = raw ? (JSON.parse(raw) as RefreshFamily) : null
    return family && matchesFilter(family, filter) ? [family] : []
  }
  const familyKeys = new Set<string>()
  for await (const key of store.scan(keyPrefixes.refreshFamily)) familyKeys.add(key)
  const families: RefreshFamily[] = []
  const all = [...familyKeys]
  for (let start = 0; start < all.length; start += 200) {
    const values = await store.getMany(all.slice(start, start + 200))
    for (const raw of values) {
      const family = raw ? (JSON.parse(raw) as RefreshFamily) : null
      if (family && matchesFilter(family, filter)) families.push(family)
    }
  }
  return families
}

/** Family ids are random UUIDs or base64url; anything else is a typing mistake, not an id. */
function isFamilyId(value: string): boolean {
  return /^[\w-]{8,128}$/.test(value)
}

export function isoDate(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString()
}
