import type { Context } from 'hono'

/**
 * Sends the browser back to the client's redirect URI with response parameters added to its
 * query (keeping any query it registered, OAuth 2.1 §4.1.2). Every authorization response
 * carries `iss`, errors included (RFC 9207 §2; MCP 2026-07-28 asks for it on both, and clients
 * that check it refuse a response without it): it is set here, so no response can leave without.
 */
export function redirectToClient(
  c: Context,
  redirectUri: string,
  issuer: string,
  params: Readonly<Record<string, string | undefined>>
): Response {
  const url = new URL(redirectUri)
  for (const [name, value] of Object.entries(params))
    if (value !== undefined) url.searchParams.set(name, value)
  url.searchParams.set('iss', issuer)
  return c.body(null, 302, {
    Location: url.href,
    'Cache-Control': 'no-store',
    'Referrer-Policy': 'no-referrer',
  })
}

/** The authorization response (OAuth 2.1 §4.1.2): the code and the request's `state`. */
export function redirectWithCode(
  c: Context,
  issuer: string,
  request: { readonly redirectUri: string; readonly state?: string | undefined },
  code: string
): Response {
  return redirectToClient(c, request.redirectUri, issuer, { code, state: request.state })
}
