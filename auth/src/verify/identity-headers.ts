import type { VerifiedToken } from './token-verifier.ts'

/**
 * The identity `/verify` hands to the proxy on success, and the only headers the proxy copies onto
 * the request it passes on (Traefik `authResponseHeaders`, Caddy `copy_headers`, nginx
 * `auth_request_set`). Each is always sent, empty when unknown, so that a value the client sent
 * itself is always overwritten.
 */
export const IDENTITY_HEADERS = [
  'X-User-Id',
  'X-User-Name',
  'X-User-Email',
  'X-Client-Id',
  'X-Auth-Scopes',
] as const

export type IdentityHeader = (typeof IDENTITY_HEADERS)[number]

/** Header values for a verified token (all empty without one, e.g. for a CORS preflight). */
export function identityHeaders(token: VerifiedToken | undefined): Record<IdentityHeader, string> {
  return {
    'X-User-Id': headerValue(token?.userId),
    'X-User-Name': headerValue(token?.login),
    'X-User-Email': headerValue(token?.email),
    'X-Client-Id': headerValue(token?.clientId),
    'X-Auth-Scopes': headerValue(token?.scope),
  }
}

/** Printable ASCII only: anything else (a non-Latin e-mail address, a control character) is sent empty. */
function headerValue(value: string | undefined): string {
  return value !== undefined && /^[\x20-\x7e]*$/.test(value) ? value.trim() : ''
}
