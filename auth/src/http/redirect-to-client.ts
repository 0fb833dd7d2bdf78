import type { Context } from 'hono'

/**
 * Sends the browser back to the client's redirect URI with response parameters added to its
 * query (keeping any query it registered, OAuth 2.1 §4.1.2). `iss` is always included (RFC 9207).
 */
export function redirectToClient(
  c: Context,
  redirectUri: string,
  params: Readonly<Record<string, string | undefined>>
): Response {
  const url = new URL(redirectUri)
  for (const [name, value] of Object.entries(params))
    if (value !== undefined) url.searchParams.set(name, value)
  return c.body(null, 302, {
    Location: url.href,
    'Cache-Control': 'no-store',
    'Referrer-Policy': 'no-referrer',
  })
}
