import type { ProtectedResource } from '../config.ts'
import { InvalidTarget } from '../errors.ts'

/** The well-known path of RFC 9728 protected resource metadata. */
export const PROTECTED_RESOURCE_WELL_KNOWN = '/.well-known/oauth-protected-resource'

/** Where the metadata of a resource is published (RFC 9728 §3.1, path-inserted form). */
export function protectedResourceMetadataUrl(resource: string): string {
  const url = new URL(resource)
  const path = url.pathname === '/' ? '' : url.pathname
  return `${url.origin}${PROTECTED_RESOURCE_WELL_KNOWN}${path}`
}

/**
 * The form resource identifiers compare in. URL parsing lower-cases the scheme and host and drops
 * a default port (MCP 2026-07-28 asks servers to accept an upper-case scheme or host), and a
 * trailing slash goes (`…/mcp/`, as some clients send it, is `…/mcp`). A query or fragment stays,
 * so it names no resource of ours; a value that is no URL is returned as it is.
 */
export function canonicalResource(value: string): string {
  let href: string
  try {
    href = new URL(value).href
  } catch {
    return value
  }
  return href.replace(/\/+$/, '')
}

/** The one of `known` that `requested` names, in the form it is known by, if any. */
function findResource(requested: string, known: readonly string[]): string | undefined {
  const wanted = canonicalResource(requested)
  return known.find((resource) => canonicalResource(resource) === wanted)
}

/**
 * RFC 8707 §2 at the token endpoint: each requested resource must be one of those granted; the
 * result is in their form, without repeats, and empty when none was asked (then: all of them).
 */
export function narrowResources(
  requested: readonly string[],
  granted: readonly string[],
  refusal: string
): string[] {
  return [
    ...new Set(
      requested.map((value) => {
        const match = findResource(value, granted)
        if (!match) throw new InvalidTarget(refusal)
        return match
      })
    ),
  ]
}

/**
 * RFC 8707 §2: each requested `resource` must be one we protect; the token's audience is what
 * was asked. Nothing asked: every protected resource (a gateway-wide token; clients such as
 * Claude Code sometimes send none, and the gateway cannot tell which service they meant).
 */
export function resolveResources(
  requested: readonly string[],
  resources: readonly ProtectedResource[]
): string[] {
  const known = resources.map((r) => r.resource)
  if (requested.length === 0) return known
  return [
    ...new Set(
      requested.map((value) => {
        const match = findResource(value, known)
        // Not echoed: the error page would show a stranger's sentence on this server's origin.
        if (!match) throw new InvalidTarget('a requested resource is not one this server protects')
        return match
      })
    ),
  ]
}

/** The configured protected resources among `resources` (as `resolveResources` gives them). */
export function namedResources(
  resources: readonly string[],
  configured: readonly ProtectedResource[]
): ProtectedResource[] {
  return configured.filter((r) => resources.includes(r.resource))
}
