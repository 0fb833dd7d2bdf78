import { clientLookup } from '../clients/client-lookup.ts'
import { findClient } from '../clients/client-registry.ts'
import type { AuthDeps } from '../deps.ts'
import type { AuditClient } from './audit-events.ts'

/**
 * The client an event names, by id, with its registered name when it has one (one store read):
 * for the places that know only the id. A client identified by a metadata document is named by
 * its URL, which says who it is.
 */
export async function namedClient(deps: AuthDeps, clientId: string): Promise<AuditClient> {
  return (await findClient(clientLookup(deps), clientId)) ?? { client_id: clientId }
}
