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
 * The scopes granted for a request: the requested ones we know, in the order asked; unknown ones
 * (such as `claudeai`) are dropped rather than refused. Nothing known asked: the default scopes.
 */
export function grantableScopes(
  requested: string | undefined,
  supported: readonly string[],
  defaults: readonly string[]
): string[] {
  const known = parseScope(requested).filter((scope) => supported.includes(scope))
  return known.length > 0 ? known : [...defaults]
}

/** Whether every scope of `narrower` is in `wider` (refresh may only narrow, RFC 6749 §6). */
export function isSubset(narrower: readonly string[], wider: readonly string[]): boolean {
  return narrower.every((scope) => wider.includes(scope))
}
