import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import { serviceCatalog } from '../../mcp-services/src/catalog.ts'
import { ROOT } from './image-replay.ts'

/**
 * `.env.example` stays true: every variable the code reads, compose passes or Traefik renders is
 * in it, each under a comment that says what it does. The variables are read from the sources
 * themselves, so a setting added to a config schema without a line here fails this test.
 */
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8')

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(join(ROOT, path)).isDirectory()) return name === 'testing' ? [] : sourceFiles(path)
    return path.endsWith('.ts') && !path.endsWith('.test.ts') ? [path] : []
  })
}

/** Upper-case keys of the zod environment schemas (`PORT: z.coerce...`, `TRUST_PROXY: flag`). */
function schemaKeys(path: string): string[] {
  return [...read(path).matchAll(/^\s+([A-Z][A-Z0-9_]*[A-Z0-9]):\s/gm)].flatMap((m) =>
    m[1] ? [m[1]] : []
  )
}

/** `MCP_<NAME>_<SUFFIX>`: the per-service suffixes the auth configuration reads for each entry. */
function perServiceSuffixes(): string[] {
  const source = read('auth/src/config.ts') + read('auth/src/config-values.ts')
  return [...source.matchAll(/(?:serviceVariable\(service,|list\()\s*'([A-Z_]+)'/g)].flatMap((m) =>
    m[1] ? [m[1]] : []
  )
}

/** `process.env.NAME` read directly anywhere in the packages' sources. */
function directReads(): string[] {
  return ['auth/src', 'mcp-services/src']
    .flatMap(sourceFiles)
    .flatMap((path) =>
      [...read(path).matchAll(/process\.env(?:\.|\[')([A-Z][A-Z0-9_]*)/g)].flatMap((m) =>
        m[1] ? [m[1]] : []
      )
    )
}

const composeVariables = [...read('docker-compose.yml').matchAll(/\$\{([A-Z][A-Z0-9_]*)/g)].map(
  (m) => m[1] ?? ''
)

const traefikVariables = ['traefik/traefik.yml', ...traefikDynamicFiles()].flatMap((path) =>
  [...read(path).matchAll(/\{\{\s*env\s+"([A-Z][A-Z0-9_]*)"\s*\}\}/g)].map((m) => m[1] ?? '')
)

function traefikDynamicFiles(): string[] {
  return readdirSync(join(ROOT, 'traefik/dynamic'))
    .filter((name) => name.endsWith('.yml'))
    .map((name) => relative(ROOT, join(ROOT, 'traefik/dynamic', name)))
}

const example = read('.env.example').split('\n')
const ASSIGNMENT = /^#?\s?([A-Z][A-Z0-9_]*)=/
const isAssignment = (line: string) => ASSIGNMENT.test(line)
const isProse = (line: string) =>
  line.startsWith('#') && !isAssignment(line) && !/^#\s*-{3}/.test(line)

/** Whether a pattern such as `MCP_<NAME>_ENABLED` names `variable`. */
const names = (text: string, variable: string) =>
  [...text.matchAll(/[A-Z][A-Z0-9_<>]*[A-Z0-9>]/g)].some(([word]) =>
    new RegExp(`^${word.replace(/<[A-Z]+>/g, '[A-Z0-9_]+')}$`).test(variable)
  )

/**
 * A variable is documented when the line above it is a comment, or when it sits in a block of
 * assignments whose comment (its lines together) names it, or names a pattern such as
 * `MCP_<NAME>_ENABLED` that covers it.
 */
function documentation(variable: string): string | undefined {
  const at = example.findIndex((line) => line.match(ASSIGNMENT)?.[1] === variable)
  if (at === -1) return undefined
  const above = example[at - 1] ?? ''
  if (isProse(above)) return above
  let line = at - 1
  while (line >= 0 && isAssignment(example[line] ?? '')) line--
  const comment: string[] = []
  for (; line >= 0 && isProse(example[line] ?? ''); line--) comment.unshift(example[line] ?? '')
  return names(comment.join(' '), variable) ? comment.join('\n') : undefined
}

describe('.env.example', () => {
  const expectDocumented = (variables: Iterable<string>) => {
    const missing = [...new Set(variables)].filter((variable) => !documentation(variable))
    expect(missing, 'variables missing from .env.example or without a comment').toEqual([])
  }

  it('has every variable of the authorization server’s configuration', () => {
    const keys = schemaKeys('auth/src/config.ts')
    expect(keys).toContain('AUTH_ISSUER')
    expectDocumented(keys)
  })

  it('has every variable of the bridge’s configuration', () => {
    const keys = schemaKeys('mcp-services/src/config-environment.ts')
    expect(keys).toContain('SESSION_IDLE_TIMEOUT')
    expectDocumented(keys)
  })

  it('has the per-service variables for every catalog service', () => {
    const suffixes = perServiceSuffixes()
    expect(suffixes).toContain('ENABLED')
    for (const service of serviceCatalog) {
      const prefix = `MCP_${service.name.toUpperCase().replace(/-/g, '_')}_`
      expectDocumented([`${prefix}ENABLED`])
      for (const suffix of suffixes) {
        const covered = example.some((line) => isProse(line) && names(line, `${prefix}${suffix}`))
        expect(covered, `a comment naming MCP_<NAME>_${suffix}`).toBe(true)
      }
    }
  })

  it('has every variable read straight from process.env', () => {
    // The bridge hands MCP_GATEWAY_* to its child processes; nobody sets them in .env.
    expectDocumented(directReads().filter((name) => !name.startsWith('MCP_GATEWAY_')))
  })

  it('has every variable docker-compose.yml and the Traefik files read', () => {
    expect(composeVariables).toContain('BASE_DOMAIN')
    expectDocumented([...composeVariables, ...traefikVariables])
  })
})

describe('the .env.example reader', () => {
  it('finds a variable only under a comment about it', () => {
    expect(documentation('LOG_LEVEL')).toBeDefined()
    expect(documentation('NO_SUCH_VARIABLE')).toBeUndefined()
    expect(names('# MCP_<NAME>_ENABLED=true|false overrides', 'MCP_ECHO_ENABLED')).toBe(true)
    expect(names('# MCP_<NAME>_ENABLED=true|false overrides', 'MCP_ECHO_ALLOWED_USERS')).toBe(false)
  })
})
