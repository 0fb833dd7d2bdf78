import type { AuditActor, AuditUser } from '../audit/audit-events.ts'
import type { AuditTrail } from '../audit/audit-trail.ts'
import { findConsent, listConsents, revokeConsent } from '../authorization/consent.ts'
import { clientIdHost, isClientIdUrl } from '../clients/client-id-metadata.ts'
import { type ClientRegistryDeps, findClient } from '../clients/client-registry.ts'
import { epochSeconds } from '../clock.ts'
import { pendingGrantFamilies } from '../oauth/pending-grants.ts'
import { keys } from '../store/keys.ts'
import { parseRecord } from '../store/stored-record.ts'
import { revokeRefreshFamily } from '../tokens/family-revocation.ts'
import type { RefreshFamily, RefreshTokenLifetimes } from '../tokens/refresh-tokens.ts'
import { describeFamily, type FamilyListing } from '../tokens/token-families.ts'
import { findCheckedUser } from '../users/checked-users.ts'

/**
 * What a signed-in person sees of their own grants on `/account`: the applications they approved
 * (a remembered consent, or tokens from the code flow) and their device-flow sessions (refresh
 * families started by the device grant), each revocable. Everything is read from the user's own
 * index sets, never by scanning the store.
 */
export interface ConnectedAppsDeps extends ClientRegistryDeps {
  readonly lifetimes: RefreshTokenLifetimes
  readonly audit: AuditTrail
}

/** Who a client is, as far as the gateway has checked it. Names are the client's own claim. */
export interface ClientIdentity {
  readonly clientId: string
  /** The registered `client_name`; absent for a metadata-document client or a deleted one. */
  readonly name: string | undefined
  /** The host publishing a metadata-document client's document (its client_id URL). */
  readonly documentHost: string | undefined
  /** Registered (or approved) redirect URIs; shown as hosts, never as links. */
  readonly redirectUris: readonly string[]
  /** False once the registration is gone; a live one may have no redirect URI (a CLI). */
  readonly registered: boolean
}

export interface ConnectedApp extends ClientIdentity {
  /** When the user approved it (seconds); absent when only tokens are left. */
  readonly approvedAt: number | undefined
  readonly scopes: readonly string[]
  readonly resources: readonly string[]
  /** The live token families of the code flow: each one a connection of the app. */
  readonly families: readonly FamilyListing[]
}

export interface DeviceSession extends ClientIdentity {
  readonly family: FamilyListing
}

export interface ConnectedApps {
  readonly apps: readonly ConnectedApp[]
  readonly devices: readonly DeviceSession[]
  /** The login the user's token families name, if they hold any. */
  readonly login?: string
}

/** The grant type `firstTokens` records for a family started by the device flow. */
const DEVICE_GRANT = 'device_code'

export async function listConnectedApps(
  deps: ConnectedAppsDeps,
  userId: string
): Promise<ConnectedApps> {
  const [consented, families] = await Promise.all([
    listConsents(deps.store, userId),
    userFamilies(deps, userId),
  ])
  const devices = families.filter((f) => f.record.grantType === DEVICE_GRANT)
  const appFamilies = families.filter((f) => f.record.grantType !== DEVICE_GRANT)
  const clientIds = [...new Set([...consented, ...appFamilies.map((f) => f.record.clientId)])]
  const identities = new Map<string, ClientIdentity>()
  const identify = async (clientId: string) => {
    let identity = identities.get(clientId)
    if (!identity) {
      identity = await identifyClient(deps, clientId)
      identities.set(clientId, identity)
    }
    return identity
  }
  const apps = await Promise.all(
    clientIds.map(async (clientId): Promise<ConnectedApp> => {
      const [identity, consent] = await Promise.all([
        identify(clientId),
        findConsent(deps.store, userId, clientId),
      ])
      const own = appFamilies.filter((f) => f.record.clientId === clientId)
      return {
        ...identity,
        redirectUris: consent?.redirectUris.length ? consent.redirectUris : identity.redirectUris,
        approvedAt: consent?.grantedAt,
        scopes: consent?.scopes ?? union(own.map((f) => f.record.scopes)),
        resources: consent?.resources ?? union(own.map((f) => f.record.resources)),
        families: own.map((f) => f.listing),
      }
    })
  )
  const deviceSessions = await Promise.all(
    devices.map(async (f) => ({ ...(await identify(f.record.clientId)), family: f.listing }))
  )
  const login = families[0]?.record.subject.login
  return {
    apps: apps.sort((a, b) => (b.approvedAt ?? 0) - (a.approvedAt ?? 0)),
    devices: deviceSessions.sort((a, b) => b.family.created_at.localeCompare(a.family.created_at)),
    ...(login ? { login } : {}),
  }
}

/**
 * Disconnects an application the user approved: the consent goes (the next authorization asks
 * again) and every token family of this user with this client is revoked, so its access tokens
 * are refused at `/verify` within its one-second revocation cache. False when the user has
 * nothing with that client.
 */
export async function revokeApp(
  deps: ConnectedAppsDeps,
  user: AuditUser,
  clientId: string
): Promise<boolean> {
  return (await withdrawConsent(deps, user, clientId, 'user')) !== null
}

/** What a withdrawn consent revoked: live token families, and grants not redeemed yet. */
export interface WithdrawnConsent {
  readonly families: readonly string[]
  /** Families of codes and approved device codes that may not have been redeemed yet. */
  readonly pendingGrants: readonly string[]
}

/**
 * What `revokeApp` does, for whoever withdraws the consent (`by`: the user on `/account`, an
 * operator with the admin CLI), so both leave the same audit trail: `token.revoked` for each
 * family, then `authorization.consent_revoked`. Null when the user has nothing with that client.
 *
 * A code issued, or a device authorization approved, just before would still start a family
 * once redeemed: those families get their revocation marker too (`pending-grants.ts`), read after
 * the consent is gone, so `/token` hands out nothing for them.
 */
export async function withdrawConsent(
  deps: ConnectedAppsDeps,
  user: AuditUser,
  clientId: string,
  by: AuditActor
): Promise<WithdrawnConsent | null> {
  const { apps, devices, login } = await listConnectedApps(deps, user.id)
  const app = apps.find((listed) => listed.clientId === clientId)
  if (!app) return null
  // An operator names the user by id: the login comes from their tokens or last check, so the
  // trail can be searched by either, as for the user's own Revoke.
  if (user.login === undefined) {
    const known = login ?? (await findCheckedUser(deps.store, user.id))?.login
    if (known) user = { ...user, login: known }
  }
  const client = auditClient(app)
  // Only families read as this person's: an index set is trusted to find them, not to own them.
  const own = new Set([
    ...app.families.map((f) => f.id),
    ...devices.filter((d) => d.clientId === clientId).map((d) => d.family.id),
  ])
  let revoked: readonly string[] = []
  await revokeConsent(deps.store, user.id, clientId, async (familyIds) => {
    const owned = familyIds.filter((familyId) => own.has(familyId))
    revoked = await revokeFamilies(deps, owned, user, client, by)
  })
  // Counted when this withdrawal marked them: a code already redeemed and its family revoked
  // earlier (or by a racing withdrawal) has nothing left to end.
  const pendingGrants: string[] = []
  for (const familyId of await pendingGrantFamilies(deps.store, user.id, clientId)) {
    if (revoked.includes(familyId)) continue
    if (await revokeFamily(deps, familyId)) pendingGrants.push(familyId)
  }
  await deps.audit.record({
    event: 'authorization.consent_revoked',
    by,
    user,
    client,
    families: revoked.length,
    ...(pendingGrants.length > 0 ? { pending_grants: pendingGrants.length } : {}),
  })
  return { families: revoked, pendingGrants }
}

/** Ends one device-flow session of the user. False when it is not (or no longer) theirs. */
export async function revokeDeviceSession(
  deps: ConnectedAppsDeps,
  user: AuditUser,
  familyId: string
): Promise<boolean> {
  const { devices } = await listConnectedApps(deps, user.id)
  const device = devices.find((listed) => listed.family.id === familyId)
  if (!device) return false
  await revokeFamilies(deps, [familyId], user, auditClient(device), 'user')
  return true
}

type AuditedClient = ReturnType<typeof auditClient>

function auditClient(client: ClientIdentity) {
  return { client_id: client.clientId, metadata: { client_name: client.name } }
}

/** Revokes and audits each family; the ones this call revoked (not a racing one before it). */
async function revokeFamilies(
  deps: ConnectedAppsDeps,
  familyIds: readonly string[],
  user: AuditUser,
  client: AuditedClient,
  by: AuditActor
): Promise<string[]> {
  const revoked: string[] = []
  for (const familyId of familyIds) {
    if (!(await revokeFamily(deps, familyId))) continue
    revoked.push(familyId)
    await deps.audit.record({
      event: 'token.revoked',
      by,
      token_type: 'refresh_token',
      family_id: familyId,
      user,
      client,
    })
  }
  return revoked
}

/** Whether this call revoked the family (see `FamilyRevocation.revokedNow`). */
async function revokeFamily(deps: ConnectedAppsDeps, familyId: string): Promise<boolean> {
  const { revokedNow } = await revokeRefreshFamily(deps.store, familyId, deps.lifetimes)
  return revokedNow
}

interface UserFamily {
  readonly record: RefreshFamily
  readonly listing: FamilyListing
}

/** The user's live refresh families, from their index set. */
async function userFamilies(deps: ConnectedAppsDeps, userId: string): Promise<UserFamily[]> {
  const { store, clock, lifetimes } = deps
  const ids = await store.setMembers(keys.userFamilies(userId))
  if (ids.length === 0) return []
  const raws = await store.getMany(ids.map((id) => keys.refreshFamily(id)))
  const now = epochSeconds(clock)
  const found: UserFamily[] = []
  for (const [at, raw] of raws.entries()) {
    const record = parseRecord<RefreshFamily>(raw, keys.refreshFamily(ids[at] as string))
    if (!record || record.subject.id !== userId) continue
    const ttl = await store.ttl(keys.refreshFamily(record.familyId))
    const expiresAt = ttl === null ? null : now + ttl
    found.push({ record, listing: describeFamily(record, expiresAt, lifetimes.refreshTokenTtl) })
  }
  return found
}

/** Reads the registration, if any; a metadata-document client is known by its URL's host. */
async function identifyClient(deps: ConnectedAppsDeps, clientId: string): Promise<ClientIdentity> {
  if (isClientIdUrl(clientId)) {
    return {
      clientId,
      name: undefined,
      documentHost: clientIdHost(clientId),
      redirectUris: [],
      registered: true,
    }
  }
  const client = await findClient(deps, clientId)
  return {
    clientId,
    name: client?.metadata.client_name,
    documentHost: undefined,
    redirectUris: client?.metadata.redirect_uris ?? [],
    registered: client !== null,
  }
}

function union(lists: readonly (readonly string[])[]): string[] {
  return [...new Set(lists.flat())]
}
