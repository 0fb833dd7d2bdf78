import { type ClientMetadata, dropUndefined } from './client-metadata.ts'
import type { ClientRecord } from './client-registry.ts'
import { MetadataDocumentError } from './metadata-document.ts'
import { isPlainText } from './plain-text.ts'
import { IDENTIFIER, quoted } from './quoted-value.ts'
import { redirectUriProblem } from './redirect-uri.ts'

/**
 * Client ID metadata documents (MCP authorization 2025-11-25, draft-ietf-oauth-client-id-
 * metadata-document): a client names itself with an https URL, and the JSON document at that URL
 * stands in for a registration. This module judges the URL and the document; fetching is in
 * `metadata-document.ts`, caching in `metadata-document-clients.ts`.
 */

/** Longer client ids are refused before any fetch; real ones are under 100 characters. */
export const MAX_CLIENT_ID_URL_LENGTH = 1024

/**
 * Whether a client id is meant as a metadata document URL. Registered client ids are base64url,
 * so they never start like this; a URL that is not acceptable is still refused as one.
 */
export function isClientIdUrl(clientId: string): boolean {
  return /^https:\/\//i.test(clientId)
}

/** Why `clientId` cannot name a metadata document, or undefined when it can. */
export function clientIdUrlProblem(clientId: string): string | undefined {
  if (clientId.length > MAX_CLIENT_ID_URL_LENGTH) return 'is too long'
  if (!clientId.startsWith('https://')) return 'must start with https://'
  if (clientId.includes('#')) return 'must not contain a fragment'
  let url: URL
  try {
    url = new URL(clientId)
  } catch {
    return 'is not a URL'
  }
  if (url.username || url.password) return 'must not contain user information'
  if (url.pathname === '/') return 'must have a path'
  // The draft forbids comparing by normalization: an id that parses into another string (dot
  // segments, upper-case host, default port) could name two clients with one document. Its
  // normal form is not shown: a page would show a stranger's path (`clientIdHost`).
  if (url.href !== clientId) return 'must be in normalized form (as a URL parser writes it)'
  return undefined
}

/** The host a person judges a metadata-document client by: the document's publisher. */
export function clientIdHost(clientId: string): string {
  return new URL(clientId).host
}

/**
 * Where a metadata-document client's redirect goes, against the host that vouches for it: `same`
 * (https, the document's host), `elsewhere` (https, another host the document names), or `local`
 * (loopback or an app scheme, which any program on the user's computer could claim).
 */
export function redirectPlace(
  clientId: string,
  redirectUri: string
): 'same' | 'elsewhere' | 'local' {
  const redirect = new URL(redirectUri)
  if (redirect.protocol !== 'https:') return 'local'
  return redirect.host === clientIdHost(clientId) ? 'same' : 'elsewhere'
}

/** Grant types given to every metadata-document client (RFC 7591 §3.2.1 lets us choose). */
const GRANTED = ['authorization_code', 'refresh_token'] as const

/**
 * The client record a fetched document stands for, or a `MetadataDocumentError` saying what is
 * wrong with it. The client is public (`none`); it may use the authorization code and refresh
 * grants, whatever else it asks for (Claude asks for jwt-bearer, VS Code for the device code).
 */
export function clientFromMetadataDocument(
  clientId: string,
  document: unknown,
  fetchedAt: number
): ClientRecord {
  const invalid = (problem: string) => new MetadataDocumentError(problem)
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw invalid('it is not a JSON object')
  }
  const doc = document as Record<string, unknown>
  if (doc.client_id !== clientId) {
    // Told by host only: this is shown on the gateway's page, and a path can be any sentence.
    throw invalid(`it names another client_id (${hostOf(doc.client_id)}), not its own URL`)
  }
  if (doc.client_secret !== undefined || doc.client_secret_expires_at !== undefined) {
    throw invalid('it carries a client secret, which a public document must not')
  }
  return {
    client_id: clientId,
    client_id_issued_at: fetchedAt,
    metadata: dropUndefined({
      redirect_uris: redirectUris(doc.redirect_uris),
      token_endpoint_auth_method: authMethod(doc),
      grant_types: grantTypes(doc),
      response_types: responseTypes(doc.response_types),
      client_name: clientName(doc.client_name),
      client_uri: clientUri(doc.client_uri, clientId),
    }),
  }
}

/**
 * Redirect URIs under the registration policy (https, loopback http, private-use schemes). One
 * the gateway would never redirect to is left out rather than failing the client: it can never
 * be used anyway. None left is an error.
 */
function redirectUris(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0 || value.some((uri) => typeof uri !== 'string')) {
    throw new MetadataDocumentError('it has no redirect_uris (a non-empty array of strings)')
  }
  const usable = (value as string[]).slice(0, 20).filter((uri) => !redirectUriProblem(uri))
  if (usable.length === 0) {
    const first = String(value[0])
    throw new MetadataDocumentError(
      `it has no acceptable redirect URI (the first ${redirectUriProblem(first)})`
    )
  }
  return [...new Set(usable)]
}

/**
 * The draft forbids shared secrets for these clients; absent means `none` for the same reason.
 * A client that offers `none` beside `private_key_jwt` (ChatGPT) uses `none` here.
 */
function authMethod(doc: Record<string, unknown>): 'none' {
  const method = doc.token_endpoint_auth_method
  const offered = doc.token_endpoint_auth_methods_supported
  if (method === undefined || method === 'none') return 'none'
  if (Array.isArray(offered) && offered.includes('none')) return 'none'
  throw new MetadataDocumentError(
    `it asks for token_endpoint_auth_method ${quoted(method, IDENTIFIER)}; this gateway accepts metadata-document clients that authenticate with none`
  )
}

function grantTypes(doc: Record<string, unknown>): ClientMetadata['grant_types'] {
  const asked = doc.grant_types
  if (asked !== undefined && !(Array.isArray(asked) && asked.includes('authorization_code'))) {
    throw new MetadataDocumentError(
      'it does not ask for the authorization_code grant, the only one this gateway offers such clients'
    )
  }
  return [...GRANTED]
}

function responseTypes(value: unknown): ClientMetadata['response_types'] {
  if (value !== undefined && !(Array.isArray(value) && value.includes('code'))) {
    throw new MetadataDocumentError('it does not ask for the code response type')
  }
  return ['code']
}

/** Required by the MCP specification; shown on the consent page, so plain text only. */
function clientName(value: unknown): string {
  const name = typeof value === 'string' ? value.trim() : ''
  if (!name || name.length > 200 || !isPlainText(name)) {
    throw new MetadataDocumentError('it has no client_name (plain text, at most 200 characters)')
  }
  return name
}

/** Shown beside the name only when it is on the document's own host: another one could mislead. */
function clientUri(value: unknown, clientId: string): string | undefined {
  if (typeof value !== 'string' || value.length > 2000 || !URL.canParse(value)) return undefined
  const url = new URL(value)
  return url.protocol === 'https:' && url.host === clientIdHost(clientId) ? url.href : undefined
}

/** A URL's host as an error on a page may name it: a DNS name's characters and length. */
function hostOf(value: unknown): string {
  try {
    const { host } = new URL(String(value))
    if (/^[a-z0-9.:[\]-]{1,253}$/.test(host)) return `host '${host}'`
  } catch {
    // Not a URL: said as such below.
  }
  return 'not a URL'
}
