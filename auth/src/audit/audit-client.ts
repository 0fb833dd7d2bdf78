import { findClient } from '../clients/client-registry.ts'
import type { Clock } from '../clock.ts'
import type { Store } from '../store/store.ts'
import type { AuditClient } from './audit-events.ts'

/**
 * The client an event names, by id, with its registered name when it has one (one store read):
 * for the places that know only the id. A client identified by a metadata document is named by
 * its URL, which says who it is. An unknown one comes back with empty metadata: it was looked
 * up, and the trail need not look again.
 */
export async function namedClient(
  store: Store,
  clock: Clock,
  clientId: string
): Promise<AuditClient> {
  return (await readClient(store, clock, clientId)) ?? { client_id: clientId, metadata: {} }
}

/**
 * The client of an event as the trail records it. One given by its id alone (`{ client_id }`:
 * the caller had no record at hand, as the sign-in refusal and the admin CLI) gets its
 * registered name, read from the store; one given with its metadata is recorded as given, named
 * or not. A failed read leaves it unnamed: recording an event never fails.
 */
export async function withRegisteredName(
  store: Store,
  clock: Clock,
  client: AuditClient | undefined
): Promise<AuditClient | undefined> {
  if (!client || client.metadata) return client
  const registered = await readClient(store, clock, client.client_id).catch(() => null)
  return registered ?? client
}

// A read: the registry's lifetimes matter to its writes only.
const readClient = (store: Store, clock: Clock, clientId: string) =>
  findClient({ store, clock, clientLifetime: 0 }, clientId)
