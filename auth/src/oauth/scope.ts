import type { ProtectedResource } from '../config-shape.ts'

/**
 * Scopes. Resources require scopes (`mcp` for every catalog service today); `offline_access`
 * only asks for a refresh token (MCP authorization spec) and never appears in access tokens.
 */
export const OFFLINE_ACCESS = 'offline_access'

export function parseScope(scope: string | undefined): string[] {
  return [...new Set((scope ?? '').split(' ').filter(Boolean))]
}

export function formatScope(scopes: Iterable<string>): string {
  return [...scopes].join(' ')
}

/**
 * The scopes granted for a request to `resources`: every scope they require, since they refuse a
 * token without one, then the tool scopes asked for (step-up), in the order asked. Unknown scopes
 * (such as `claudeai`) are dropped rather than refused.
 */
export function grantedScopes(
  requested: string | undefined,
  resources: readonly Pick<ProtectedResource, 'service' | 'toolScopes'>[]
): string[] {
  const required = resources.flatMap((r) => r.service.requiredScopes)
  const asked = parseScope(requested).filter((scope) =>
    resources.some((r) => r.toolScopes.includes(scope))
  )
  return [...new Set([...required, ...asked])]
}

/** Whether every scope of `narrower` is in `wider` (refresh may only narrow, RFC 6749 §6). */
export function isSubset(narrower: readonly string[], wider: readonly string[]): boolean {
  return narrower.every((scope) => wider.includes(scope))
}
