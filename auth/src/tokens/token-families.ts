import { type Clock, epochSeconds } from '../clock.ts'
import type { DeviceAuthorization } from '../device/device-authorization.ts'
import type { TokenSubject } from '../oauth/access-token.ts'
import type { AuthorizationCodeGrant } from '../oauth/authorization-code.ts'
import { keyPrefixes, keys } from '../store/keys.ts'
import type { Store } from '../store/store.ts'
import { parseRecord, parseUnlessDamaged } from '../store/stored-record.ts'
import { revokeRefreshFamily } from './family-revocation.ts'
import type { RefreshFamily, RefreshTokenLifetimes } from './refresh-tokens.ts'

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

function matchesFilter(
  family: Pick<RefreshFamily, 'familyId' | 'clientId' | 'subject'>,
  filter: TokenFilter
): boolean {
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
  const found = await unrevoked(store, await findFamilies(store, filter))
  const listed = await Promise.all(
    found.map(async (family) => {
      const ttl = await store.ttl(keys.refreshFamily(family.familyId))
      return describeFamily(family, ttl === null ? null : now + ttl, refreshTokenTtl)
    })
  )
  return listed.sort((a, b) => a.created_at.localeCompare(b.created_at))
}

/**
 * The users `user` names among the live families, as `--user` matches them: by id, or by login
 * (any case). A login is known here only while its user holds a family; one login may name
 * several users, as GitHub gives up a login its user changed.
 */
export async function usersNamed(store: Store, user: string): Promise<TokenSubject[]> {
  const byId = new Map<string, TokenSubject>()
  for (const { subject } of await findFamilies(store, { user })) byId.set(subject.id, subject)
  return [...byId.values()]
}

/**
 * Revokes every family matching `filter` (at least one criterion). A family id that names no live
 * family still gets its marker: its access tokens may outlive the family record, or it may be a
 * grant not redeemed yet. By user or client, the families of such grants (codes, approved device
 * codes) are marked as well (`pendingGrants`), after the live families are read: a code redeemed
 * meanwhile is marked with them, and one redeemed later is refused at `/token`. What the result
 * lists is what this call revoked; a repeat lists nothing.
 */
export async function revokeTokenFamilies(
  store: Store,
  clock: Clock,
  lifetimes: RefreshTokenLifetimes,
  filter: TokenFilter
): Promise<{ revoked: FamilyListing[]; markedOnly: string[]; pendingGrants: string[] }> {
  // Each counts when this call revoked it: a repeat finds the markers of the one before.
  const revokedNow = async (familyId: string) =>
    (await revokeRefreshFamily(store, familyId, lifetimes)).revokedNow
  const unredeemed = filter.family === undefined ? await findUnredeemedGrants(store, filter) : []
  const live = await listTokenFamilies(store, clock, lifetimes.refreshTokenTtl, filter)
  const listed = new Set(live.map((family) => family.id))
  const pendingGrants: string[] = []
  for (const familyId of unredeemed) {
    if (!listed.has(familyId) && (await revokedNow(familyId))) pendingGrants.push(familyId)
  }
  const revoked: FamilyListing[] = []
  for (const family of live) if (await revokedNow(family.id)) revoked.push(family)
  const markedOnly: string[] = []
  if (filter.family !== undefined && live.length === 0 && isFamilyId(filter.family)) {
    if (await revokedNow(filter.family)) markedOnly.push(filter.family)
  }
  return { revoked, markedOnly, pendingGrants }
}

async function findFamilies(store: Store, filter: TokenFilter): Promise<RefreshFamily[]> {
  if (filter.family !== undefined) {
    const raw = await store.get(keys.refreshFamily(filter.family))
    const family = parseRecord<RefreshFamily>(raw, keys.refreshFamily(filter.family))
    return family && matchesFilter(family, filter) ? [family] : []
  }
  const families = await readAll<RefreshFamily>(store, keyPrefixes.refreshFamily)
  return families.filter((family) => matchesFilter(family, filter))
}

/**
 * The families no revocation marker refuses, of the family or of its deleted client. A record
 * alone is no live family: a restore into a live store writes back one revoked since the backup,
 * and the marker, which it keeps, refuses its refresh and access tokens.
 */
async function unrevoked(store: Store, families: RefreshFamily[]): Promise<RefreshFamily[]> {
  const live: RefreshFamily[] = []
  for (let start = 0; start < families.length; start += 100) {
    const batch = families.slice(start, start + 100)
    const markers = await store.getMany(
      batch.flatMap((family) => [
        keys.revokedFamily(family.familyId),
        keys.revokedClient(family.clientId),
      ])
    )
    live.push(...batch.filter((_, at) => markers[2 * at] === null && markers[2 * at + 1] === null))
  }
  return live
}

/**
 * The families of the grants `filter` names that were handed out but not redeemed yet:
 * authorization codes, and device authorizations the user approved. Each starts its family when
 * redeemed, so revoking a user's or a client's tokens must mark these too, or a code issued a
 * moment before would bring fresh tokens afterwards. Found by SCAN, as `tokens list` finds
 * families: an operator's command, and these keys live minutes.
 */
async function findUnredeemedGrants(store: Store, filter: TokenFilter): Promise<string[]> {
  const grants = [
    ...(await readAll<StoredGrant>(store, keyPrefixes.authorizationCode)),
    ...(await readAll<StoredGrant>(store, keyPrefixes.deviceAuthorization)),
  ].map(redeemable)
  return grants.flatMap((grant) => (grant && matchesFilter(grant, filter) ? [grant.familyId] : []))
}

/**
 * The records under `prefix` (SCAN, then `MGET`s of 200). A damaged one is left out: every read of
 * it fails, so it can bring no token, and revoking a user's tokens must not stop at it.
 */
async function readAll<T>(store: Store, prefix: string): Promise<T[]> {
  const found = new Set<string>()
  for await (const key of store.scan(prefix)) found.add(key)
  const all = [...found]
  const records: T[] = []
  for (let start = 0; start < all.length; start += 200) {
    const batch = all.slice(start, start + 200)
    for (const [at, raw] of (await store.getMany(batch)).entries()) {
      const record = parseUnlessDamaged<T>(raw, batch[at] as string)
      if (record) records.push(record)
    }
  }
  return records
}

type StoredGrant = AuthorizationCodeGrant | DeviceAuthorization

/** A code always names its user; a device authorization only once approved. */
function redeemable(grant: StoredGrant) {
  if ('status' in grant && grant.status !== 'approved') return null
  const { subject, clientId, familyId } = grant
  return subject ? { subject, clientId, familyId } : null
}

/** Family ids are random UUIDs or base64url; anything else is a typing mistake, not an id. */
function isFamilyId(value: string): boolean {
  return /^[\w-]{8,128}$/.test(value)
}

export function isoDate(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString()
}
