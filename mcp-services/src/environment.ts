/**
 * The environment as configuration reads it: a variable set to the empty string counts as unset.
 * An env file copied from the example carries `NAME=` lines, and compose passes `${NAME:-}` for
 * values a deployment does not have; neither means "this value, empty".
 */
export function withoutEmptyValues(
  env: Readonly<Record<string, string | undefined>>
): Record<string, string> {
  const set: Record<string, string> = {}
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && value !== '') set[name] = value
  }
  return set
}
