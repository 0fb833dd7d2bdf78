import { matchRedirectUri } from '../clients/redirect-match.ts'
import { type Clock, epochSeconds } from '../clock.ts'
import { liveFamilies } from '../oauth/revocation.ts'
import { keys } from '../store/keys.ts'
import type { Store } from '../store/store.ts'
import { parseRecord } from '../store/stored-record.ts'

/** A user's remembered "yes" to a client, for a set of scopes and resources. */
export interface Consent {
  readonly scopes: readonly string[]
  readonly resources: readonly string[]
  /**
   * The registered redirect URIs the user saw and approved: a client that registers (or moves to)
   * another one must ask again, or a remembered "yes" would follow the client anywhere.
   */
  readonly redirectUris: readonly string[]
  readonly grantedAt: number
}

export async function rememberConsent(
  store: Store,
  clock: Clock,
  grant: {
    userId: string
    clientId: string
    scopes: readonly string[]
    resources: readonly string[]
    redirectUris: readonly string[]
  },
  ttlSeconds: number
): Promise<void> {
  const key = keys.consent(grant.userId, grant.clientId)
  const previous = await readConsent(store, key)
  const consent: Consent = {
    scopes: grant.scopes,
    resources: grant.resources,
    redirectUris: [...new Set([...(previous?.redirectUris ?? []), ...grant.redirectUris])],
    grantedAt: epochSeconds(clock),
  }
  await store.batch([
    { op: 'put', key, value: JSON.stringify(consent), ttlSeconds },
    // The index lives as long as its longest-lived consent, so it goes when they all have.
    { op: 'addToSet', key: keys.userConsents(grant.userId), member: grant.clientId, ttlSeconds },
  ])
}

/**
 * A remembered consent used again lives `ttlSeconds` from now, as it would if given again, but is
 * never written: one withdrawn meanwhile stays withdrawn, and what the user approved (scopes,
 * redirect URIs, when) stays as they approved it.
 */
export async function renewConsent(
  store: Store,
  grant: { userId: string; clientId: string },
  ttlSeconds: number
): Promise<void> {
  if (await store.expire(keys.consent(grant.userId, grant.clientId), ttlSeconds)) {
    await store.expire(keys.userConsents(grant.userId), ttlSeconds)
  }
}

/**
 * Whether the user already consented, for this client, to at least these scopes and resources,
 * returning to this registered redirect URI.
 */
export async function hasConsent(
  store: Store,
  request: {
    userId: string
    clientId: string
    scopes: readonly string[]
    resources: readonly string[]
    registeredRedirectUri: string
  }
): Promise<boolean> {
  const consent = await readConsent(store, keys.consent(request.userId, request.clientId))
  if (!consent) return false
  return (
    consent.redirectUris.includes(request.registeredRedirectUri) &&
    request.scopes.every((scope) => consent.scopes.includes(scope)) &&
    request.resources.every((resource) => consent.resources.includes(resource))
  )
}

/**
 * Whether the user has approved this client, returning to this redirect URI (as requested: a
 * loopback port may differ), whatever the scopes. RFC 9700 §4.11.2: only then may an error of an
 * authorization request go back to the client; for any other client it would make the gateway a
 * redirector for whoever registers one.
 */
export async function hasApprovedRedirect(
  store: Store,
  request: { userId: string; clientId: string; redirectUri: string }
): Promise<boolean> {
  const consent = await readConsent(store, keys.consent(request.userId, request.clientId))
  return (
    consent !== null && matchRedirectUri(request.redirectUri, consent.redirectUris) !== undefined
  )
}

/**
 * Withdraws a user's consent for a client. The tokens that consent led to are revoked with it
 * (`revokeFamilies` receives the user's refresh families held by that client).
 */
export async function revokeConsent(
  store: Store,
  userId: string,
  clientId: string,
  revokeFamilies: (familyIds: string[]) => Promise<void>
): Promise<void> {
  await store.batch([
    { op: 'delete', key: keys.consent(userId, clientId) },
    { op: 'removeFromSet', key: keys.userConsents(userId), member: clientId },
  ])
  const [ofUser, ofClient] = await Promise.all([
    store.setMembers(keys.userFamilies(userId)),
    store.setMembers(keys.clientFamilies(clientId)),
  ])
  const ofClientSet = new Set(ofClient)
  const shared = await liveFamilies(
    store,
    ofUser.filter((familyId) => ofClientSet.has(familyId))
  )
  if (shared.length > 0) await revokeFamilies(shared)
}

export async function listConsents(store: Store, userId: string): Promise<string[]> {
  return store.setMembers(keys.userConsents(userId))
}

/** The user's remembered consent for a client, if any (what the account page shows). */
export async function findConsent(
  store: Store,
  userId: string,
  clientId: string
): Promise<Consent | null> {
  return readConsent(store, keys.consent(userId, clientId))
}

async function readConsent(store: Store, key: string): Promise<Consent | null> {
  const raw = await store.get(key)
  return parseRecord<Consent>(raw, key)
}
