import type { ProtectedResource } from '../config.ts'
import { InvalidTarget } from '../errors.ts'

/** Resource identifiers compare without a trailing slash (`…/mcp` and `…/mcp/` are one resource). */
export function canonicalResource(value: string): string {
  return value.endsWith('/') ? value.slice(0, -1) : value
}

/**
 * RFC 8707 §2: each requested `resource` must be one we protect; the token's audience is what
 * was asked. Nothing asked: every protected resource (a gateway-wide token, for CLIs).
 */
export function resolveResources(
  requested: readonly string[],
  resources: readonly ProtectedResource[]
): string[] {
  if (requested.length === 0) return resources.map((r) => r.resource)
  return [
    ...new Set(
      requested.map((value) => {
        const match = resources.find((r) => r.resource === canonicalResource(value))
        if (!match) throw new InvalidTarget(`the resource ${value} is not protected by this server`)
        return match.resource
      })
    ),
  ]
}
