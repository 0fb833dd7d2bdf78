import { type ServiceDefinition, serviceCatalog } from '../../mcp-services/src/catalog.ts'
import { parseUserEntry, type UserEntry } from './policy/allow-list.ts'

/**
 * The rules for single configuration values that the schema cannot express: the issuer, when the
 * development sign-in may run, allow-lists and the per-service settings. Each refusal is a
 * `ConfigError` naming the variable, so start-up stops with one clear line.
 */

/** A configuration value that stops start-up; the message names the variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
}

/**
 * Where the gateway is reached: AUTH_ISSUER, else the compose edge's `auth.` host on BASE_DOMAIN,
 * else the loopback origin of the port it listens on (PORT, else its mode's default).
 */
export function publicAddress(settings: {
  readonly NODE_ENV: string
  readonly GATEWAY_MODE: string
  readonly PORT?: number | undefined
  readonly AUTH_ISSUER?: string | undefined
  readonly BASE_DOMAIN?: string | undefined
}): { port: number; issuer: string } {
  const { AUTH_ISSUER, BASE_DOMAIN, GATEWAY_MODE, NODE_ENV } = settings
  const port = settings.PORT ?? (GATEWAY_MODE === 'standalone' ? 8080 : 8000)
  const issuer = parseIssuer(
    AUTH_ISSUER ?? (BASE_DOMAIN ? `https://auth.${BASE_DOMAIN}` : `http://localhost:${port}`),
    NODE_ENV === 'production'
  )
  return { port, issuer }
}

export function parseIssuer(value: string, production: boolean): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new ConfigError(`AUTH_ISSUER: not a URL: ${value}`)
  }
  // RFC 8414 §2: https, no query or fragment; clients compare it byte for byte (no trailing slash).
  if (url.search || url.hash || value.endsWith('/')) {
    throw new ConfigError('AUTH_ISSUER: must have no query, fragment or trailing slash')
  }
  // Every endpoint, page form and bridged service is served from the root of the issuer's host.
  if (url.pathname !== '/') {
    throw new ConfigError(
      'AUTH_ISSUER: must be an origin without a path (the gateway serves its endpoints at the root of its host: give it a host of its own)'
    )
  }
  const loopback = isLoopbackHost(url.hostname)
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && (loopback || !production))) {
    throw new ConfigError(
      'AUTH_ISSUER: must be https (http only on loopback or outside production)'
    )
  }
  return value
}

/**
 * The development sign-in lets anyone in under any name: only where nobody else can reach the
 * gateway (a loopback issuer AND a loopback listen address: a loopback issuer alone says nothing
 * of who reaches `HOST=0.0.0.0`, a published container port or a tunnel), or where the operator
 * asked for it by name, and never where a public https issuer says the gateway is meant for others.
 */
export function developmentSignInAllowed(settings: {
  optIn: boolean | undefined
  issuer: string
  host: string
  production: boolean
  github: boolean
}): boolean {
  const url = new URL(settings.issuer)
  const loopbackIssuer = isLoopbackHost(url.hostname)
  if (settings.optIn === true && settings.production) {
    throw new ConfigError('DEVELOPMENT_SIGN_IN: refused when NODE_ENV=production')
  }
  if (settings.optIn === true && url.protocol === 'https:' && !loopbackIssuer) {
    throw new ConfigError(
      `DEVELOPMENT_SIGN_IN: refused for the public https issuer ${settings.issuer}; configure GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET`
    )
  }
  if (settings.github || settings.production) return false
  return settings.optIn ?? (loopbackIssuer && isLoopbackHost(settings.host))
}

/** A loopback name or address, as a URL's hostname or a `Host` header's name writes it. */
export function isLoopbackHost(hostname: string): boolean {
  return (
    hostname === 'localhost' ||
    hostname === '[::1]' ||
    hostname === '::1' ||
    /^127(\.\d{1,3}){3}$/.test(hostname)
  )
}

export function positive(variable: string, value: number): number {
  if (value <= 0) throw new ConfigError(`${variable}: must be a positive number of seconds`)
  return value
}

/** A user allow-list: '*' for everyone, else its entries (see `parseUserEntry`). */
export function userList(variable: string, entries: readonly string[]): readonly UserEntry[] | '*' {
  if (entries.includes('*')) return '*'
  return entries.map((entry) => {
    try {
      return parseUserEntry(entry)
    } catch (error) {
      throw new ConfigError(`${variable}: ${(error as Error).message}`)
    }
  })
}

/**
 * A team allow-list: `org/team-slug` entries (the slug as in the team's URL,
 * `https://github.com/orgs/<org>/teams/<slug>`), compared case-insensitively.
 */
export function teamList(variable: string, entries: readonly string[]): readonly string[] {
  return entries.map((entry) => {
    if (!/^[a-z\d][a-z\d-]{0,38}\/[a-z\d][a-z\d_-]{0,99}$/i.test(entry)) {
      throw new ConfigError(`${variable}: ${entry}: write <organisation>/<team-slug>`)
    }
    return entry.toLowerCase()
  })
}

/**
 * An organisation allow-list: GitHub organisation logins (letters, digits and single hyphens, at
 * most 39), compared case-insensitively. A name GitHub cannot have would let nobody in, silently.
 */
export function orgList(variable: string, entries: readonly string[]): readonly string[] {
  return entries.map((entry) => {
    if (!/^[a-z\d](?:-?[a-z\d]){0,38}$/i.test(entry)) {
      throw new ConfigError(
        `${variable}: ${entry}: not a GitHub organisation login (letters, digits and single hyphens)`
      )
    }
    return entry
  })
}

export function serviceVariable(service: ServiceDefinition, suffix: string): string {
  return `MCP_${service.name.toUpperCase().replace(/-/g, '_')}_${suffix}`
}

export function servicePolicy(
  env: Readonly<Record<string, string | undefined>>,
  service: ServiceDefinition
) {
  const list = (suffix: string) =>
    (env[serviceVariable(service, suffix)] ?? '')
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean)
  return {
    users: list('ALLOWED_USERS'),
    orgs: orgList(serviceVariable(service, 'ALLOWED_ORGS'), list('ALLOWED_ORGS')),
  }
}

/** The per-service settings (`MCP_<NAME>_…`): a name the catalog lacks is a typo, not a wish. */
const SERVICE_VARIABLE = /^MCP_([A-Z0-9_]+)_(ENABLED|ALLOWED_USERS|ALLOWED_ORGS)$/
const SERVICE_SETTINGS = ['ENABLED', 'ALLOWED_USERS', 'ALLOWED_ORGS'] as const

/**
 * A variable named for a service of the catalog that is none of its settings
 * (`MCP_ECHO_ALLOWED_USER`): left aside, the service it was meant to close would be open to
 * everyone the gateway lets in, so it stops start-up like an unknown service does.
 */
function unknownServiceSetting(name: string): string | undefined {
  const isSettingOf = (s: ServiceDefinition) =>
    SERVICE_SETTINGS.some((suffix) => serviceVariable(s, suffix) === name)
  // Any service's: one name may begin like another's (`memory`, `memory-lite`).
  if (serviceCatalog.some(isSettingOf)) return undefined
  const service = serviceCatalog.find((s) => name.startsWith(serviceVariable(s, '')))
  if (!service) return undefined
  const settings = SERVICE_SETTINGS.map((suffix) => serviceVariable(service, suffix)).join(', ')
  return `${name}: not a setting of the ${service.name} service (it takes ${settings})`
}

export function enabledServices(
  env: Readonly<Record<string, string | undefined>>
): ServiceDefinition[] {
  for (const name of Object.keys(env)) {
    const unknown = unknownServiceSetting(name)
    if (unknown !== undefined) throw new ConfigError(unknown)
    const match = SERVICE_VARIABLE.exec(name)
    if (!match || serviceCatalog.some((s) => serviceVariable(s, match[2] as string) === name)) {
      continue
    }
    const names = serviceCatalog.map((s) => s.name).join(', ')
    throw new ConfigError(`${name}: the catalog has no service of that name (it has ${names})`)
  }
  return serviceCatalog.filter((service) => {
    const variable = serviceVariable(service, 'ENABLED')
    const value = env[variable]
    if (value === undefined || value === '') return service.enabledByDefault
    if (/^(true|1|yes)$/i.test(value)) return true
    if (/^(false|0|no)$/i.test(value)) return false
    throw new ConfigError(`${variable}: expected true or false, got ${value}`)
  })
}

/** OAuth 2.1 §4.1.2 recommends authorization codes live 10 minutes at most. */
const MAX_AUTH_CODE_TTL = 600

/**
 * Lifetimes in the wrong unit (minutes for seconds, a day for a minute) are refused: nothing would
 * fail at once, but everyone would sign in again far too often, or a code would wait a day.
 */
export function checkLifetimes(ttl: {
  readonly accessToken: number
  readonly refreshToken: number
  readonly authorizationCode: number
}): void {
  if (ttl.refreshToken < ttl.accessToken) {
    throw new ConfigError(
      `REFRESH_TOKEN_TTL: ${ttl.refreshToken} s is shorter than ACCESS_TOKEN_TTL (${ttl.accessToken} s); lifetimes are in seconds`
    )
  }
  if (ttl.authorizationCode > MAX_AUTH_CODE_TTL) {
    throw new ConfigError(
      `AUTH_CODE_TTL: at most ${MAX_AUTH_CODE_TTL} s (a code is redeemed right after the redirect; OAuth 2.1 recommends 10 minutes at most); lifetimes are in seconds`
    )
  }
}

/** GitHub OAuth scope names (`repo`, `public_repo`, `read:project`, ...); anything else stops start-up. */
export function gitHubScopes(scopes: readonly string[]): readonly string[] {
  for (const scope of scopes) {
    if (!/^[a-z_]+(:[a-z_]+)?$/.test(scope)) {
      throw new ConfigError(
        `GITHUB_EXTRA_SCOPES: "${scope}" is not a GitHub scope name (comma-separated, e.g. public_repo,read:project)`
      )
    }
  }
  return [...new Set(scopes)]
}
