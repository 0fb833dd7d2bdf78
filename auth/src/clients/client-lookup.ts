import type { Clock } from '../clock.ts'
import { InvalidClient } from '../errors.ts'
import type { Logger } from '../logger.ts'
import { LruCache } from '../lru-cache.ts'
import { storeFailureReason } from '../store/redis-failures.ts'
import type { Store } from '../store/store.ts'
import { isClientIdUrl } from './client-id-metadata.ts'
import {
  type ClientRecord,
  type ClientRegistryDeps,
  findClient,
  recordClientUse,
} from './client-registry.ts'
import type { DocumentRequester, MetadataDocumentClients } from './metadata-document-clients.ts'

/** Where clients come from: registrations (RFC 7591) and, when enabled, metadata documents. */
export interface ClientLookupDeps extends ClientRegistryDeps {
  /** Absent when `CLIENT_ID_METADATA_DOCUMENTS=false`. */
  readonly metadataDocuments?: MetadataDocumentClients | undefined
}

/**
 * The lookup deps of a route: the registry, the app's one metadata document cache, and the
 * route's own memory of the clients whose lifetime it checked lately.
 */
export function clientLookup(deps: {
  readonly store: Store
  readonly clock: Clock
  readonly config: { readonly ttl: { readonly client: number } }
  readonly metadataDocumentClients?: MetadataDocumentClients | undefined
}): ClientLookupDeps {
  return {
    store: deps.store,
    clock: deps.clock,
    clientLifetime: deps.config.ttl.client,
    lifetimeChecks: new LruCache(10_000),
    metadataDocuments: deps.metadataDocumentClients,
  }
}

/**
 * The client a `client_id` names: a registered client, or (an https URL) the client its metadata
 * document describes. Null for an unknown registered id; a metadata document that cannot be had
 * is an `OAuthError` saying why (`invalid_client`, or `temporarily_unavailable`). `requester`
 * bounds the document fetches one caller can cause.
 */
export async function lookUpClient(
  deps: ClientLookupDeps,
  clientId: string,
  requester?: DocumentRequester
): Promise<ClientRecord | null> {
  if (!isClientIdUrl(clientId)) return findClient(deps, clientId)
  if (!deps.metadataDocuments) {
    throw new InvalidClient(
      'this gateway does not accept client ID metadata documents (an https client_id): the application needs a client_id this gateway issued',
      { reason: 'client_metadata_documents_off' }
    )
  }
  return deps.metadataDocuments.find(clientId, requester)
}

/**
 * The client was used (tokens issued, a device authorization started): its registration, or its
 * cached document, lives on. Called once what the client asked for exists, so a store failing
 * now must not turn it into an error the client retries (a refresh token already rotated would
 * come back as a replay; a device authorization would be started twice): it is logged, and the
 * client's next use records it.
 */
export async function recordUse(
  deps: ClientLookupDeps,
  clientId: string,
  logger: Logger
): Promise<void> {
  try {
    if (!isClientIdUrl(clientId)) await recordClientUse(deps, clientId)
    else await deps.metadataDocuments?.recordUse(clientId)
  } catch (error) {
    logger.warn({
      event: 'client_use_not_recorded',
      client_id: clientId,
      reason: storeFailureReason(error),
      detail:
        'the store failed after what the client asked for was issued; its next use records it',
    })
  }
}

/** Whether the client is identified by a metadata document (its id is the document's URL). */
export function isMetadataDocumentClient(client: ClientRecord): boolean {
  return isClientIdUrl(client.client_id)
}
