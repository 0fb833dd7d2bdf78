// GitHub's OAuth scope lists as its token endpoint and API treat them.

/** Scopes another scope implies; GitHub drops the implied ones when it normalises a list. */
const IMPLIED: Record<string, string[]> = {
  user: ['read:user', 'user:email', 'user:follow'],
  'admin:org': ['write:org', 'read:org'],
  'write:org': ['read:org'],
  repo: ['repo:status', 'repo_deployment', 'public_repo', 'repo:invite', 'security_events'],
}

/** Parses a scope list (spaces or commas), de-duplicates it and drops implied scopes. */
export function normalizeScopes(raw: string): string[] {
  const all = [...new Set(raw.split(/[\s,]+/).filter(Boolean))]
  return all.filter((scope) => !all.some((other) => IMPLIED[other]?.includes(scope))).sort()
}

/** True when `granted` includes `scope` directly or through an implying scope. */
export function hasScope(granted: readonly string[], scope: string): boolean {
  return granted.some((g) => g === scope || IMPLIED[g]?.includes(scope))
}
