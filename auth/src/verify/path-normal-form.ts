/**
 * Whether the path of a forwarded request target (`/path?query`, or an absolute
 * `https://host/path?query`) means the same to everyone who reads it. `/verify` decides which
 * resource a request is for from the path the proxy reports, while the proxy routes it, and the
 * service serves it, by their own reading: WHATWG URL resolves `\` and `%2e%2e` as `/` and `..`,
 * nginx decodes and merges slashes before it picks a location, servlet containers drop `;params`
 * from segments, some servers decode `%2f` into a separator. Guessing which reading the proxy and
 * the service chose could let a token for one resource through to another, so a path any of them
 * could read differently is refused outright.
 *
 * In normal form, the path holds only RFC 3986 path characters, no empty segment (`//`), no dot
 * segment (`.`, `..`, also with `;params`), and no percent-encoded ASCII character that could
 * stand in the path as itself (`%2e`, `%2f`, `%5c`, `%25`, `%41`, …): an encoding is kept only
 * for a character that has no other way into a path (a space, `"`, `#`, `<`, `?`, `{`, …) and
 * for non-ASCII bytes. The query is not judged: no proxy routes by it.
 */
export function pathInNormalForm(target: string): boolean {
  // The usual target (`/echo/mcp`, maybe a query) is decided by one expression, on every request.
  if (PLAIN_TARGET.test(target)) return true
  if (target.includes('#')) return false
  const path = pathOf(target)
  if (!PATH.test(path) || path.includes('//')) return false
  if (path.split('/').some((segment) => DOT_SEGMENT.test(segment))) return false
  for (const [, hex] of path.matchAll(ENCODED_OCTET)) {
    const octet = Number.parseInt(hex as string, 16)
    if (octet < 0x80 && !ONLY_ENCODED.has(octet)) return false
  }
  return true
}

/** Everything before the query; an absolute target loses its scheme and authority first. */
function pathOf(target: string): string {
  const authority = /^[a-z][a-z0-9+.-]*:\/\/[^/?#\\]*/i.exec(target)?.[0] ?? ''
  const rest = target.slice(authority.length)
  const query = rest.indexOf('?')
  return query === -1 ? rest : rest.slice(0, query)
}

/** Segments of unreserved characters, none of them starting with a dot; then any query. */
const PLAIN_TARGET = /^(?:\/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)*\/?(?:\?[^#]*)?$/
const PATH = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*$/
const DOT_SEGMENT = /^\.\.?(?:;.*)?$/
const ENCODED_OCTET = /%([0-9A-Fa-f]{2})/g
/** ASCII characters RFC 3986 never lets into a path unencoded, so no normaliser decodes them. */
const ONLY_ENCODED = new Set([...' "#<>?[]^`{|}'].map((char) => char.charCodeAt(0)))
