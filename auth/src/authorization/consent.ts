import { type Clock, epochSeconds } from '../clock.ts'
import { keys } from '../store/keys.ts'
import type { Store } from '../store/store.ts'

/** A user's remembered "yes" to a client, for a set of scopes and resources. */
export interface Consent {
  readonly scopes: readonly string[]
  readonly resources: readonly string[]
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
  },
  ttlSeconds: number
): Promise<void> {
  const consent: Consent = {
    scopes: grant.scopes,
    resources: grant.resources,
    grantedAt: epochSeconds(clock),
  }
  await store.batch([
    {
      op: 'put',
      key: keys.consent(grant.userId, grant.clientId),
      value: JSON.stringify(consent),
      ttlSeconds,
    },
    { op: 'addToSet', key: keys.userConsents(grant.userId), member: grant.clientId },
  ])
}

/** Whether the user already consented to at least these scopes and resources for this client. */
export async function hasConsent(
  store: Store,
  request: {
    userId: string
    clientId: string
    scopes: readonly string[]
    resources: readonly string[]
  }
): Promise<boolean> {
  const raw = await store.get(keys.consent(request.userId, request.clientId))
  if (!raw) return false
  const consent = JSON.parse(raw) as Consent
  return (
    request.scopes.every((scope) => consent.scopes.includes(scope)) &&
    request.resources.every((resource) => consent.resources.includes(resource))
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
  const shared = ofUser.filter((familyId) => ofClient.includes(familyId))
  if (shared.length > 0) await revokeFamilies(shared)
}

export async function listConsents(store: Store, userId: string): Promise<string[]> {
  return store.setMembers(keys.userConsents(userId))
}
