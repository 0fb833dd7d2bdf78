import { randomBytes } from 'node:crypto'
import { type Clock, epochSeconds } from '../clock.ts'
import { InvalidClientMetadata, InvalidToken, TemporarilyUnavailable } from '../errors.ts'
import type { LruCache } from '../lru-cache.ts'
import { hashSecret, newSecret, secretMatches } from '../oauth/secrets.ts'
import { keys } from '../store/keys.ts'
import type { Store } from '../store/store.ts'
import { parseRecord } from '../store/stored-record.ts'
import { type ClientMetadata, dropUndefined } from './client-metadata.ts'

/** A registered client as stored: secrets only as SHA-256 hashes (see STORAGE.md). */
export interface ClientRecord {
  readonly client_id: string
  readonly client_id_issued_at: number
  /** Absent for public clients (`token_endpoint_auth_method: none`). */
  readonly client_secret_hash?: string
  /** 0 when the secret never expires (RFC 7591 §3.2.1). */
  readonly client_secret_expires_at?: number
  /** Absent for a client identified by a metadata document: it has no registration to manage. */
  readonly registration_access_token_hash?: string
  readonly metadata: ClientMetadata
}

export interface ClientRegistryDeps {
  readonly store: Store
  readonly clock: Clock
  /** Seconds a registration lives after its last use; 0: forever. */
  readonly clientLifetime: number
  /**
   * When this process last read each client's remaining lifetime (clock milliseconds), so a busy
   * client's is read once a minute rather than on every token request. Absent: read every time.
   */
  readonly lifetimeChecks?: LruCache<string, number>
  /**
   * Seconds a registration lives until it is first used; 0 or absent: `clientLifetime`. Clients
   * register on every connection, and most registrations are never used again.
   */
  readonly clientUnusedLifetime?: number
}

/**
 * The largest stored client record. A registration body is at most 4 KiB
 * (`MAX_REGISTRATION_BODY_BYTES`; real clients send under 1 KiB), and the record adds identifiers
 * and hashes to the metadata.
 */
export const MAX_CLIENT_RECORD_BYTES = 5 * 1024

/** A used registration is renewed when it has lost this much of its lifetime: one write an hour. */
const RENEWAL_INTERVAL_SECONDS = 3600
/** How often one process reads a used client's remaining lifetime: well within the interval. */
const LIFETIME_CHECK_INTERVAL_MS = 60_000

/**
 * RFC 7591 §3.2.1 `client_secret_expires_at: 0`: the secret has no expiry date of its own. It goes
 * with the registration, which ends when the client stops using it, a date nobody knows in advance.
 */
const SECRET_NEVER_EXPIRES = 0

/** What a registration hands out once, in clear: never stored, never shown again. */
export interface IssuedCredentials {
  readonly clientSecret?: string
  readonly registrationAccessToken?: string
}

export async function registerClient(
  deps: ClientRegistryDeps,
  metadata: ClientMetadata
): Promise<{ client: ClientRecord; credentials: IssuedCredentials }> {
  const issuedAt = epochSeconds(deps.clock)
  const clientSecret = needsSecret(metadata) ? newSecret() : undefined
  const registrationAccessToken = newSecret()
  const client: ClientRecord = dropUndefined({
    client_id: randomBytes(16).toString('base64url'),
    client_id_issued_at: issuedAt,
    client_secret_hash: clientSecret ? hashSecret(clientSecret) : undefined,
    client_secret_expires_at: clientSecret ? SECRET_NEVER_EXPIRES : undefined,
    registration_access_token_hash: hashSecret(registrationAccessToken),
    metadata,
  })
  await deps.store.put(keys.client(client.client_id), serialize(client), {
    ttlSeconds: unusedLifetime(deps),
    onlyIfAbsent: true,
  })
  return { client, credentials: dropUndefined({ clientSecret, registrationAccessToken }) }
}

export async function findClient(
  deps: ClientRegistryDeps,
  clientId: string
): Promise<ClientRecord | null> {
  if (!/^[\w-]{1,128}$/.test(clientId)) return null
  const raw = await deps.store.get(keys.client(clientId))
  return parseRecord<ClientRecord>(raw, keys.client(clientId))
}

/**
 * The client was used (tokens issued, a device authorization started): its registration lives
 * `clientLifetime` from now. One TTL read per use; the write only when an hour of the lifetime is
 * gone, so a busy client costs one write an hour.
 */
export async function recordClientUse(deps: ClientRegistryDeps, clientId: string): Promise<void> {
  const now = deps.clock.now()
  const checked = deps.lifetimeChecks?.get(clientId)
  if (checked !== undefined && now >= checked && now - checked < LIFETIME_CHECK_INTERVAL_MS) return
  deps.lifetimeChecks?.set(clientId, now)
  const key = keys.client(clientId)
  const remaining = await deps.store.ttl(key)
  // No TTL: the client is gone, or it already lives forever (CLIENT_LIFETIME=0).
  if (remaining === null) return
  const slack = Math.min(RENEWAL_INTERVAL_SECONDS, deps.clientLifetime / 2)
  if (deps.clientLifetime > 0 && remaining > deps.clientLifetime - slack) return
  await deps.store.expire(key, deps.clientLifetime)
}

/**
 * RFC 7592 §3: the registration access token is the only credential for managing a client. An
 * unknown client and a wrong token get the same answer, so the endpoint does not reveal which
 * client ids exist.
 */
export async function authorizeClientManagement(
  deps: ClientRegistryDeps,
  clientId: string,
  registrationAccessToken: string
): Promise<ClientRecord> {
  const client = await findClient(deps, clientId)
  const valid =
    client !== null &&
    client.registration_access_token_hash !== undefined &&
    secretMatches(registrationAccessToken, client.registration_access_token_hash)
  if (!client || !valid) {
    throw new InvalidToken('the registration access token is not valid for this client', {
      reason: client ? 'wrong_registration_token' : 'unknown_client',
    })
  }
  return client
}

/**
 * RFC 7592 §2.2: the new metadata replaces the old. The secret is kept, and created when the client
 * turns confidential; a confidential client never turns public (`InvalidClientMetadata`). The
 * registration keeps its remaining lifetime.
 *
 * Decided on the record as stored and written only if it is still that record (compare-and-set),
 * again on a fresh read when another update came first: of concurrent updates that would each
 * create a secret, one does and the others keep it, so no answer shows a secret that never
 * worked. An update that races a deletion or the expiry never brings the client back.
 */
export async function updateClient(
  deps: ClientRegistryDeps,
  client: ClientRecord,
  metadata: ClientMetadata
): Promise<{ client: ClientRecord; credentials: IssuedCredentials }> {
  const key = keys.client(client.client_id)
  for (let attempt = 1; attempt <= UPDATE_ATTEMPTS; attempt++) {
    const [raw, ttl] = await Promise.all([deps.store.get(key), deps.store.ttl(key)])
    const stored = parseRecord<ClientRecord>(raw, key)
    // Gone, or re-registered with another token since this request was authorized.
    if (
      stored === null ||
      stored.registration_access_token_hash !== client.registration_access_token_hash
    ) {
      throw new InvalidToken('the registration access token is not valid for this client', {
        reason: 'unknown_client',
      })
    }
    // Its refresh tokens are bound to its authentication (RFC 9700 §4.14.2): made public, they
    // would refresh with no secret at all.
    if (stored.client_secret_hash !== undefined && !needsSecret(metadata)) {
      throw new InvalidClientMetadata(
        'a confidential client cannot become public: register a new client instead'
      )
    }
    const update = updatedRecord(stored, metadata)
    const written = await deps.store.batch(
      // No TTL stays none; one about to end stays at least a second (0 would mean never).
      [
        {
          op: 'put',
          key,
          value: serialize(update.client),
          ttlSeconds: ttl === null ? 0 : Math.max(1, ttl),
        },
      ],
      { ifUnchanged: { key, value: raw as string } }
    )
    if (written) return update
  }
  throw new TemporarilyUnavailable('the registration is being updated by another request; retry')
}

const UPDATE_ATTEMPTS = 3

function updatedRecord(
  client: ClientRecord,
  metadata: ClientMetadata
): { client: ClientRecord; credentials: IssuedCredentials } {
  const keepSecret = needsSecret(metadata) && client.client_secret_hash !== undefined
  const clientSecret = needsSecret(metadata) && !keepSecret ? newSecret() : undefined
  const updated: ClientRecord = dropUndefined({
    ...client,
    client_secret_hash: keepSecret
      ? client.client_secret_hash
      : clientSecret
        ? hashSecret(clientSecret)
        : undefined,
    client_secret_expires_at:
      keepSecret || clientSecret
        ? (client.client_secret_expires_at ?? SECRET_NEVER_EXPIRES)
        : undefined,
    metadata,
  })
  return { client: updated, credentials: dropUndefined({ clientSecret }) }
}

/**
 * The client information response (RFC 7591 §3.2.1, RFC 7592 §3): metadata plus identifiers,
 * the clear-text credentials only when just issued, and no `null` anywhere.
 */
export function clientInformation(
  client: ClientRecord,
  registrationClientUri: string,
  credentials: IssuedCredentials = {}
): Record<string, unknown> {
  return dropUndefined({
    client_id: client.client_id,
    client_id_issued_at: client.client_id_issued_at,
    client_secret: credentials.clientSecret,
    client_secret_expires_at: client.client_secret_hash
      ? client.client_secret_expires_at
      : undefined,
    registration_access_token: credentials.registrationAccessToken,
    registration_client_uri: registrationClientUri,
    ...client.metadata,
  })
}

function needsSecret(metadata: ClientMetadata): boolean {
  return metadata.token_endpoint_auth_method !== 'none'
}

function unusedLifetime(deps: ClientRegistryDeps): number {
  const unused = deps.clientUnusedLifetime ?? 0
  if (unused === 0) return deps.clientLifetime
  return deps.clientLifetime === 0 ? unused : Math.min(unused, deps.clientLifetime)
}

/** A client record as stored, refused when over `MAX_CLIENT_RECORD_BYTES`. */
function serialize(client: ClientRecord): string {
  const value = JSON.stringify(client)
  if (Buffer.byteLength(value) > MAX_CLIENT_RECORD_BYTES) {
    throw new InvalidClientMetadata(
      `the client metadata is too large (a client is stored in at most ${MAX_CLIENT_RECORD_BYTES} bytes)`
    )
  }
  return value
}
