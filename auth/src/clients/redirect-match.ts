import { isLoopbackRedirectHost, redirectUriProblem } from './redirect-uri.ts'

/**
 * OAuth 2.1 §4.1.1 / RFC 8252 §7.3: the redirect URI of a request must equal a registered one
 * exactly, except that a loopback redirect may use any port (native apps pick a free one).
 * Returns the registered URI that matched, or undefined.
 */
export function matchRedirectUri(
  requested: string,
  registered: readonly string[]
): string | undefined {
  if (registered.includes(requested)) return requested
  const requestedLoopback = loopbackWithoutPort(requested)
  if (!requestedLoopback) return undefined
  return registered.find((uri) => loopbackWithoutPort(uri) === requestedLoopback)
}

/**
 * The URI with its port removed, when it is an http loopback URI; otherwise undefined. A
 * requested URI must also be one registration would accept: parsing forgives forms (`http:\\`,
 * tabs, control characters) that the redirect would not be sent to as written.
 */
function loopbackWithoutPort(uri: string): string | undefined {
  if (redirectUriProblem(uri) !== undefined) return undefined
  let url: URL
  try {
    url = new URL(uri)
  } catch {
    return undefined
  }
  if (url.protocol !== 'http:' || !isLoopbackRedirectHost(url.hostname)) return undefined
  url.port = ''
  return url.href
}
