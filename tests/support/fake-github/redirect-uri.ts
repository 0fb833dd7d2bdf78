/** Loopback literals for which GitHub ignores the port of a redirect_uri. */
const LOOPBACK = new Set(['127.0.0.1', '[::1]'])

/**
 * GitHub's rule for an OAuth App's `redirect_uri` against its registered callback URL: same
 * scheme; same host or a sub-domain of it; same port (any port on a loopback literal); the
 * callback path itself or a path below it.
 *
 * @see https://docs.github.com/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps#redirect-urls
 */
export function redirectUriAllowed(registered: string, candidate: string): boolean {
  const callback = new URL(registered)
  let uri: URL
  try {
    uri = new URL(candidate)
  } catch {
    return false
  }
  if (uri.protocol !== callback.protocol) return false
  if (LOOPBACK.has(callback.hostname)) {
    if (uri.hostname !== callback.hostname) return false
  } else {
    if (uri.port !== callback.port) return false
    if (!sameOrSubdomain(callback.hostname, uri.hostname)) return false
  }
  return pathWithin(callback.pathname, uri.pathname)
}

function sameOrSubdomain(registered: string, host: string): boolean {
  if (host === registered) return true
  const isIp = /^[\d.]+$/.test(registered) || registered.startsWith('[')
  return !isIp && host.endsWith(`.${registered}`)
}

function pathWithin(base: string, path: string): boolean {
  if (path === base) return true
  return path.startsWith(base.endsWith('/') ? base : `${base}/`)
}
