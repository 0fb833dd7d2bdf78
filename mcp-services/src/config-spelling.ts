/**
 * Environment variables that look like a misspelt setting: an unknown name within two edits of a
 * known one (`ACESS_TOKEN_TTL`). Settings have defaults, so a typo would otherwise leave the
 * default in force without a word. Names of other software are far from every setting and pass;
 * a service's own `MCP_<NAME>_…` names are checked where the catalog is read.
 */
export function misspeltSettings(
  environment: Readonly<Record<string, string | undefined>>,
  known: ReadonlySet<string>
): { readonly name: string; readonly meant: string }[] {
  const found: { name: string; meant: string }[] = []
  for (const name of Object.keys(environment)) {
    if (known.has(name) || name.length < 6 || SERVICE_VARIABLE.test(name)) continue
    // Settings are read in capitals only: `redis_url` is a setting written the wrong way.
    const upper = name.toUpperCase()
    if (upper !== name && known.has(upper)) {
      found.push({ name, meant: upper })
      continue
    }
    for (const setting of known) {
      if (Math.abs(setting.length - name.length) <= 2 && editDistance(name, setting) <= 2) {
        found.push({ name, meant: setting })
        break
      }
    }
  }
  return found
}

/** The per-service variables (`MCP_MEMORY_ENABLED`), which `serviceVariable` checks. */
const SERVICE_VARIABLE = /^MCP_\w+_(ENABLED|ALLOWED_USERS|ALLOWED_ORGS)$/

/** Optimal string alignment distance: insertions, deletions, substitutions, adjacent swaps. */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0))
  )
  const at = (i: number, j: number) => rows[i]?.[j] ?? Number.POSITIVE_INFINITY
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, at(i - 2, j - 2) + 1)
      }
      ;(rows[i] as number[])[j] = best
    }
  }
  return at(a.length, b.length)
}
