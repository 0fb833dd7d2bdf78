import { isMap, isScalar, isSeq, parse, parseDocument } from 'yaml'

/**
 * Just enough of Docker Compose's file handling to check the test override without an engine:
 * the merge rules of https://docs.docker.com/reference/compose-file/merge/ for what the files
 * here use (mappings merge, `command`/`entrypoint` replace, `volumes` are unique by target,
 * `ports` by value, other sequences append, `!override` replaces, `!reset` removes) and `${VAR}`
 * interpolation.
 */
export type ComposeValue = unknown

const RESET = Symbol('!reset')
class Override {
  readonly value: ComposeValue
  constructor(value: ComposeValue) {
    this.value = value
  }
}

/** The base file: anchors and `<<` merge keys, no compose tags. */
export function parseComposeFile(text: string): Record<string, ComposeValue> {
  return parse(text, { merge: true }) as Record<string, ComposeValue>
}

/** An override file, its `!override`/`!reset` tags kept as markers for `mergeCompose`. */
export function parseOverrideFile(text: string): {
  value: Record<string, ComposeValue>
  errors: string[]
  /** Warnings other than the compose tags the yaml package does not know. */
  warnings: string[]
} {
  const document = parseDocument(text)
  return {
    value: fromNode(document.contents) as Record<string, ComposeValue>,
    errors: document.errors.map((error) => error.message),
    warnings: document.warnings
      .map((warning) => warning.message)
      .filter((message) => !/Unresolved tag: !(override|reset)\b/.test(message)),
  }
}

function fromNode(node: unknown): ComposeValue {
  let value: ComposeValue
  if (isMap(node)) {
    value = Object.fromEntries(
      node.items.map((pair) => [
        String(isScalar(pair.key) ? pair.key.value : pair.key),
        fromNode(pair.value),
      ])
    )
  } else if (isSeq(node)) {
    value = node.items.map(fromNode)
  } else if (isScalar(node)) {
    value = node.value
  } else {
    value = node ?? null
  }
  const tag = (node as { tag?: string } | null)?.tag
  if (tag === '!reset') return RESET
  if (tag === '!override') return new Override(value)
  return value
}

const isRecord = (value: unknown): value is Record<string, ComposeValue> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/** The container path of a volume entry, short (`src:target[:mode]`) or long syntax. */
export function volumeTarget(entry: ComposeValue): string {
  if (isRecord(entry)) return String(entry.target)
  const parts = String(entry).split(':')
  return (parts.length === 1 ? parts[0] : parts[1]) ?? ''
}

/** `override` merged onto `base` as compose merges a later `-f` file onto an earlier one. */
export function mergeCompose(
  base: ComposeValue,
  override: ComposeValue,
  key = ''
): ComposeValue | undefined {
  if (override === RESET) return undefined
  if (override instanceof Override) return strip(override.value)
  if (isRecord(base) && isRecord(override)) {
    const merged: Record<string, ComposeValue> = { ...base }
    for (const [name, value] of Object.entries(override)) {
      const result = mergeCompose(base[name], value, name)
      if (result === undefined) delete merged[name]
      else merged[name] = result
    }
    return merged
  }
  if (Array.isArray(base) && Array.isArray(override)) {
    if (key === 'command' || key === 'entrypoint') return strip(override)
    const uniqueBy =
      key === 'volumes'
        ? volumeTarget
        : key === 'ports'
          ? (entry: ComposeValue) => String(entry)
          : null
    if (!uniqueBy) return [...base, ...override.map(strip)]
    const byKey = new Map(base.map((entry) => [uniqueBy(entry), entry]))
    for (const entry of override) byKey.set(uniqueBy(entry), strip(entry))
    return [...byKey.values()]
  }
  return strip(override)
}

/** The value without markers (a tag below a tag means what compose would make of it). */
function strip(value: ComposeValue): ComposeValue {
  if (value instanceof Override) return strip(value.value)
  if (value === RESET) return null
  if (Array.isArray(value)) return value.map(strip)
  if (isRecord(value))
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, strip(v)]))
  return value
}

const VARIABLE = /\$\$|\$\{(\w+)(?:(:?[-?])([^}]*))?\}/g

/** The variables a compose file requires (`${VAR:?message}` or `${VAR?message}`). */
export function requiredVariables(text: string): string[] {
  const names = new Set<string>()
  for (const match of text.matchAll(VARIABLE)) {
    if (match[1] && match[2]?.endsWith('?')) names.add(match[1])
  }
  return [...names].sort()
}

/**
 * Compose's interpolation of every string in `value`. Stricter than compose: a variable without
 * a default that `env` does not set is an error (compose would warn and use an empty string).
 */
export function interpolate(value: ComposeValue, env: Record<string, string>): ComposeValue {
  if (typeof value === 'string') {
    return value.replace(
      VARIABLE,
      (whole, name: string | undefined, op: string | undefined, rest: string | undefined) => {
        if (whole === '$$') return '$'
        const given = name === undefined ? undefined : env[name]
        const unset = given === undefined || (op?.startsWith(':') && given === '')
        if (!unset) return given ?? ''
        if (op?.endsWith('-')) return rest ?? ''
        throw new Error(`\${${name}} is not set${op?.endsWith('?') ? `: ${rest}` : ''}`)
      }
    )
  }
  if (Array.isArray(value)) return value.map((item) => interpolate(item, env))
  if (isRecord(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, env)]))
  }
  return value
}
