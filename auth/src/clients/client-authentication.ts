import { epochSeconds } from '../clock.ts'
import { InvalidClient, InvalidRequest } from '../errors.ts'
import { secretMatches } from '../oauth/secrets.ts'
import { type ClientLookupDeps, lookUpClient } from './client-lookup.ts'
import type { ClientRecord } from './client-registry.ts'

export interface ClientCredentials {
  readonly authorizationHeader: string | undefined
  readonly form: Readonly<Record<string, string>>
  /** The caller's address as rate limits count it: bounds the metadata documents it makes us fetch. */
  readonly caller?: string
}

/**
 * Authenticates the client of a token, revocation or introspection request (RFC 6749 §2.3).
 * Confidential clients prove their secret with HTTP Basic or in the body — either is accepted,
 * whichever they registered, since both prove the same secret; public clients just name
 * themselves. Every failure is the same 401 `invalid_client`, which makes MCP clients register
 * again.
 */
export async function authenticateClient(
  registry: ClientLookupDeps,
  credentials: ClientCredentials
): Promise<ClientRecord> {
  const basic = parseBasic(credentials.authorizationHeader)
  const bodySecret = credentials.form.client_secret
  if (basic && bodySecret !== undefined) {
    throw new InvalidRequest(
      'use one client authentication method, not HTTP Basic and client_secret together'
    )
  }
  if (
    basic &&
    credentials.form.client_id !== undefined &&
    credentials.form.client_id !== basic.clientId
  ) {
    throw new InvalidRequest('client_id differs from the HTTP Basic user')
  }
  const clientId = basic?.clientId ?? credentials.form.client_id
  const secret = basic?.secret ?? bodySecret
  if (!clientId)
    throw new InvalidClient('client authentication is required', { reason: 'no_client_id' })

  const client = await lookUpClient(
    registry,
    clientId,
    credentials.caller === undefined ? undefined : { address: credentials.caller }
  )
  const refuse = (reason: string) => new InvalidClient('client authentication failed', { reason })
  if (!client) throw refuse('unknown_client')
  if (client.client_secret_hash === undefined) {
    if (secret !== undefined && secret !== '') throw refuse('secret_sent_by_public_client')
    return client
  }
  if (secret === undefined || !secretMatches(secret, client.client_secret_hash))
    throw refuse('wrong_secret')
  const expiresAt = client.client_secret_expires_at ?? 0
  if (expiresAt !== 0 && expiresAt <= epochSeconds(registry.clock)) throw refuse('secret_expired')
  return client
}

/** RFC 6749 §2.3.1: `Basic base64(urlencode(client_id):urlencode(secret))`. */
function parseBasic(header: string | undefined): { clientId: string; secret: string } | undefined {
  if (!header || !/^basic /i.test(header)) return undefined
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8')
  const separator = decoded.indexOf(':')
  if (separator < 0)
    throw new InvalidClient('malformed HTTP Basic credentials', { reason: 'malformed_basic' })
  try {
    return {
      clientId: decodeURIComponent(decoded.slice(0, separator).replace(/\+/g, ' ')),
      secret: decodeURIComponent(decoded.slice(separator + 1).replace(/\+/g, ' ')),
    }
  } catch {
    throw new InvalidClient('malformed HTTP Basic credentials', { reason: 'malformed_basic' })
  }
}
