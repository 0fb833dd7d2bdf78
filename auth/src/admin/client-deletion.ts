import type { AuditActor } from '../audit/audit-events.ts'
import type { AuditTrail } from '../audit/audit-trail.ts'
import { revokeConsent } from '../authorization/consent.ts'
import { clientIdUrlProblem, isClientIdUrl } from '../clients/client-id-metadata.ts'
import type { ClientRecord } from '../clients/client-registry.ts'
import {
  clientMarker,
  liveFamilies,
  revocationLifetime,
  type TokenLifetimes,
} from '../oauth/revocation.ts'
import { hashSecret } from '../oauth/secrets.ts'
import { keyPrefixes, keys } from '../store/keys.ts'
import type { Store } from '../store/store.ts'
import { parseUnlessDamaged } from '../store/stored-record.ts'
import { revokeRefreshFamily } from '../tokens/family-revocation.ts'

/** Longer than a token request takes from reading the client to signing its access token. */
const RACING_REQUEST_SECONDS = 60

export interface ClientDeletionDeps {
  readonly store: Store
  readonly lifetimes: TokenLifetimes
  readonly audit: AuditTrail
}

/**
 * Deletes a client and revokes everything it holds, with the effect of `/revoke` on each of its
 * tokens: RFC 7592 `DELETE /register/<id>` and `admin clients delete` both come here.
 *
 * - A client marker, written first, refuses every access token of the client at `/verify` (one
 *   more key in the same `MGET`, so within the verifier's one-second cache), including a token
 *   signed by a token request that raced the deletion.
 * - Its refresh families are revoked (refresh tokens gone, family markers written).
 * - Every user's remembered consent for it is withdrawn (unless it deletes itself holding no
 *   token: see `leavesNothing` below).
 * - Its pending authorization codes and device codes are left to expire: they are stored by hash,
 *   so they cannot be found by client, and `/token` refuses them since the client is unknown.
 *
 * A client identified by a metadata document (its id is the document's URL) has no registration,
 * and anyone can name the URL again: deleting it also blocks it, since the client marker refuses
 * its tokens at `/verify` and its authorizations until the marker expires (`revocationLifetime`).
 *
 * A full store takes it all: the markers are written past `maxmemory` (`markAndTake`), and
 * everything else deletes.
 *
 * Returns false when there was nothing to delete (no such client, and no tokens of one). A
 * deletion is audited as `client.deleted` by `by` (the client itself, or an operator).
 */
export async function deleteClient(
  deps: ClientDeletionDeps,
  clientId: string,
  by: AuditActor
): Promise<boolean> {
  const { store, lifetimes } = deps
  const byDocument = isClientIdUrl(clientId) && clientIdUrlProblem(clientId) === undefined
  if (!byDocument && !/^[\w-]{1,128}$/.test(clientId)) return false
  const [record, families] = await Promise.all([
    store.get(keys.client(clientId)),
    store.setMembers(keys.clientFamilies(clientId)),
  ])
  // An expired registration may still have live tokens: they are revoked all the same.
  if (!byDocument && record === null && families.length === 0) return false
  // Anyone may register a client and delete it again (RFC 7592), in a loop. Holding no token, a
  // registration deleting itself needs its marker only for a token request racing the deletion
  // (its access token; a refresh needs the client), and its id is never issued again, so any
  // consent for it is left to expire rather than looked for among every user's.
  const leavesNothing = by === 'client' && !byDocument && families.length === 0
  const markerSeconds = leavesNothing
    ? lifetimes.accessTokenTtl + RACING_REQUEST_SECONDS
    : revocationLifetime(lifetimes)

  await store.markAndTake([clientMarker(clientId, markerSeconds)], keys.client(clientId))
  await store.delete(keys.clientMetadataDocument(hashSecret(clientId)))
  const revokeFamilies = async (familyIds: readonly string[]) => {
    await Promise.all(familyIds.map((familyId) => revokeRefreshFamily(store, familyId, lifetimes)))
  }
  await revokeFamilies(await liveFamilies(store, families))
  for (const userId of leavesNothing ? [] : await consentingUsers(store, clientId)) {
    // Its families are revoked above: a consent left to expire on a full store names a client
    // that no longer exists.
    await revokeConsent(store, userId, clientId, revokeFamilies)
  }
  await store.delete(keys.clientFamilies(clientId))
  const client = parseUnlessDamaged<ClientRecord>(record, keys.client(clientId)) ?? {
    client_id: clientId,
  }
  await deps.audit.record({ event: 'client.deleted', client, by })
  return true
}

/**
 * The users with a remembered consent for the client. Consents are kept per user, so this is a
 * SCAN of the consent keys: deletions are rare (an operator, or a client deleting itself, which
 * registration rate limits), and no second index has to be kept in step.
 */
async function consentingUsers(store: Store, clientId: string): Promise<string[]> {
  const users: string[] = []
  for await (const key of store.scan(keyPrefixes.consent)) {
    // `consent:<user_id>:<client_id>`; user ids (GitHub ids, `dev-<login>`) have no colon.
    const rest = key.slice(keyPrefixes.consent.length)
    const separator = rest.indexOf(':')
    if (separator > 0 && rest.slice(separator + 1) === clientId) {
      users.push(rest.slice(0, separator))
    }
  }
  return users
}
