import { readdirSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { loadConfig } from '../../auth/src/config.ts'
import { serviceCatalog } from '../../mcp-services/src/catalog.ts'
import { parseBridgeConfig } from '../../mcp-services/src/config.ts'

const root = new URL('../../', import.meta.url)
const read = (path: string) => readFileSync(new URL(path, root), 'utf8')

interface ComposeService {
  image?: string
  stop_grace_period?: string
  env_file?: { path: string; required?: boolean }[]
  profiles?: string[]
  entrypoint?: string[]
  command?: string[]
  environment?: Record<string, string>
  networks?: string[]
  volumes?: string[]
  mem_limit?: string
  deploy?: { resources?: { limits?: { memory?: string } } }
  cap_drop?: string[]
  cap_add?: string[]
  user?: string
  security_opt?: string[]
  logging?: { driver?: string; options?: Record<string, string> }
}
interface ComposeNetwork {
  internal?: boolean
  ipam?: { config: { subnet: string }[] }
}
const compose = parse(read('docker-compose.yml'), { merge: true }) as {
  services: Record<string, ComposeService>
  networks: Record<string, ComposeNetwork | null>
}
/** The addresses Traefik's public entry point believes `X-Forwarded-*` from. */
const traefikTrustedIps = () =>
  (
    parse(read('traefik/traefik.yml')) as {
      entryPoints: { websecure: { forwardedHeaders: { trustedIPs: string[] } } }
    }
  ).entryPoints.websecure.forwardedHeaders.trustedIPs

const middlewares = parse(read('traefik/dynamic/middlewares.yml')) as {
  http: { middlewares: { 'mcp-auth': { forwardAuth: { address: string } } } }
}

const containers = Object.entries(compose.services)
/** The containers attached to a network. */
const members = (network: string) =>
  containers.filter(([, service]) => service.networks?.includes(network)).map(([name]) => name)
/** Every container that shares a network with `name`, itself included. */
const neighbours = (name: string) =>
  new Set((compose.services[name]?.networks ?? []).flatMap((network) => members(network)))
const requiredSecret = /^\$\{BRIDGE_SHARED_SECRET:\?.+\}$/
/** The bridges that read the auth server's user directory, so share its internal network. */
const directoryReaders = serviceCatalog
  .filter((service) => service.actAsGitHubUser)
  .map((service) => `mcp-${service.name}`)

/** The compose file, the catalog, Traefik and .env.example must tell the same story. */
describe('docker-compose.yml', () => {
  it('runs one bridged container per catalog service, bound to its own host name', () => {
    for (const service of serviceCatalog) {
      const container = compose.services[`mcp-${service.name}`]
      expect(container, service.name).toBeDefined()
      expect(container?.command).toEqual([service.name])
      expect(container?.environment?.ALLOWED_HOSTS).toBe(`${service.name}.\${BASE_DOMAIN}`)
      expect(container?.environment?.PORT).toBe('3000')
    }
  })

  it('starts the conformance fixtures only when asked: they are not a service for users', () => {
    expect(compose.services['mcp-conformance']?.profiles).toEqual(['conformance'])
  })

  it('serves the authorization server where Traefik’s forward-auth looks for it', () => {
    const auth = compose.services.auth?.environment ?? {}
    const address = new URL(middlewares.http.middlewares['mcp-auth'].forwardAuth.address)
    expect(address.hostname).toBe('auth')
    expect(auth.PORT).toBe(address.port)
    expect(auth).toMatchObject({
      GATEWAY_MODE: 'auth',
      NODE_ENV: 'production',
    })
    // The edge network as Traefik trusts it (its gateway left out): X-Forwarded-For is believed
    // from Traefik's side alone.
    expect(auth.TRUST_PROXY?.split(',')).toEqual(traefikTrustedIps())
    expect(auth.REDIS_URL).toMatch(/^redis:\/\/:\$\{REDIS_PASSWORD\}@redis:6379/)
  })

  it('keeps Redis durable (AOF), password-protected, bounded and never evicting', () => {
    const command = (compose.services.redis?.command ?? []).join(' ')
    expect(command).toMatch(/--appendonly yes/)
    expect(command).toMatch(/--requirepass \$\{REDIS_PASSWORD/)
    expect(command).toMatch(/--maxmemory \d+[kmg]b\b/)
    expect(command).toMatch(/--maxmemory-policy noeviction\b/)
  })

  it('lets only auth and the one-off admin container reach Redis, on a network with no route out', () => {
    expect([...neighbours('redis')].sort()).toEqual(['admin', 'auth', 'redis'])
    for (const network of compose.services.redis?.networks ?? []) {
      expect(compose.networks[network]?.internal, network).toBe(true)
    }
  })

  it('lets only Traefik reach auth’s port (/verify, and X-Forwarded-For it believes)', () => {
    // …and the operator's one-off admin container, which shares the Redis network.
    // A bridge that reads the user directory shares auth's internal network (docs/internal-api.md).
    expect([...neighbours('auth')].sort()).toEqual(
      ['admin', 'auth', 'redis', 'traefik', ...directoryReaders].sort()
    )
  })

  it('gives each bridge a network of its own that only Traefik shares', () => {
    for (const service of serviceCatalog) {
      const name = `mcp-${service.name}`
      const internal = directoryReaders.includes(name) ? ['auth-internal'] : []
      expect(compose.services[name]?.networks, name).toEqual([name, ...internal])
      expect(members(name).sort(), name).toEqual([name, 'traefik'].sort())
    }
    const bridges = serviceCatalog.map((service) => `mcp-${service.name}`)
    expect(containers.map(([name]) => name).sort()).toEqual(
      ['admin', 'auth', 'redis', 'traefik', ...bridges].sort()
    )
  })

  it('runs the store recipes in a one-off admin container on the Redis network alone', () => {
    const admin = compose.services.admin
    expect(admin?.profiles).toEqual(['tools'])
    expect(admin?.image).toBe(compose.services.auth?.image)
    expect(admin?.networks).toEqual(['redis'])
    expect(admin?.entrypoint).toEqual(['node', 'auth/src/cli/main.ts'])
    expect(admin?.volumes).toEqual(['./backups:/app/backups'])
    expect(admin?.environment?.REDIS_URL).toBe(compose.services.auth?.environment?.REDIS_URL)
  })

  it('gives each bridge the egress its catalog entry states', () => {
    for (const service of serviceCatalog) {
      const network = `mcp-${service.name}`
      // Compose cannot filter by host: a service that needs hosts gets a network with a route
      // out (and should go through an egress proxy); one that needs none gets no route at all.
      expect(compose.networks[network]?.internal === true, network).toBe(service.egress === 'none')
      for (const other of compose.services[network]?.networks ?? []) {
        if (other !== network) expect(compose.networks[other]?.internal, other).toBe(true)
      }
    }
  })

  it('has every bridge check the shared secret that Traefik adds', () => {
    expect(compose.services.traefik?.environment?.BRIDGE_SHARED_SECRET).toMatch(requiredSecret)
    for (const service of serviceCatalog) {
      const environment = compose.services[`mcp-${service.name}`]?.environment ?? {}
      expect(environment.BRIDGE_SHARED_SECRET, service.name).toMatch(requiredSecret)
      expect(environment.HOST).toBe('0.0.0.0')
    }
  })

  it('limits the memory of every container, and MCP containers run without privileges', () => {
    for (const [name, service] of containers) {
      const limit = service.mem_limit ?? service.deploy?.resources?.limits?.memory
      expect(limit, name).toMatch(/^\d+[kmg]$/i)
    }
    for (const service of serviceCatalog) {
      const container = compose.services[`mcp-${service.name}`]
      expect(container?.cap_drop).toEqual(['ALL'])
      // Root with just what starting children as another user needs (docs/mcp-services.md).
      expect(container?.cap_add).toEqual(['SETUID', 'SETGID', 'KILL'])
      expect(container?.user).toBe('0:0')
      expect(container?.environment?.CHILD_USER).toBe('1000:1000')
      expect(container?.environment?.CHILD_UID_RANGE).toBe('100000-100999')
      expect(container?.security_opt).toContain('no-new-privileges:true')
      expect(Number(container?.environment?.MAX_SESSIONS)).toBeGreaterThan(0)
    }
  })

  it('keeps every container’s log in rotated files of bounded size', () => {
    for (const [name, service] of containers) {
      expect(service.logging, name).toEqual({
        driver: 'json-file',
        options: { 'max-size': '10m', 'max-file': '5' },
      })
    }
  })

  it('keeps each service’s data in a volume of its own', () => {
    const volumes = serviceCatalog.map(
      (service) => compose.services[`mcp-${service.name}`]?.volumes?.[0]?.split(':')[0]
    )
    expect(new Set(volumes).size).toBe(serviceCatalog.length)
  })

  it('mounts the Docker socket nowhere', () => {
    for (const [name, service] of containers) {
      for (const volume of service.volumes ?? []) expect(volume, name).not.toMatch(/docker\.sock/)
    }
  })

  it('routes nothing to auth’s internal API, which only the internal network carries', () => {
    const auth = compose.services.auth?.environment ?? {}
    expect(auth.INTERNAL_API_SECRET).toMatch(/^\$\{INTERNAL_API_SECRET:\?.+\}$/)
    const internalPort = auth.INTERNAL_PORT
    expect(Number(internalPort)).toBeGreaterThan(0)
    expect(internalPort).not.toBe(auth.PORT)
    const traefikFiles = [
      'traefik/traefik.yml',
      ...readdirSync(new URL('traefik/dynamic/', root))
        .filter((name) => name.endsWith('.yml'))
        .map((name) => `traefik/dynamic/${name}`),
    ]
    const targets = traefikFiles.flatMap((path) =>
      [...read(path).matchAll(/(?:url|address):\s*"?([a-z]+:\/\/[^"\s]+)/g)].map((m) => m[1] ?? '')
    )
    const authTargets = targets.filter((target) => new URL(target).hostname === 'auth')
    expect(authTargets.length).toBeGreaterThan(0)
    for (const target of authTargets) expect(new URL(target).port, target).toBe(auth.PORT)
    expect(compose.services.auth?.networks).toContain('auth-internal')
    expect(compose.networks['auth-internal']?.internal).toBe(true)
    expect(members('auth-internal')).not.toContain('traefik')
    for (const reader of directoryReaders) {
      const environment = compose.services[reader]?.environment ?? {}
      expect(environment.AUTH_INTERNAL_URL, reader).toBe(`http://auth:${internalPort}`)
      expect(environment.INTERNAL_API_SECRET, reader).toBe(auth.INTERNAL_API_SECRET)
    }
  })

  it('stops auth and every bridge gracefully, with the same settings and room to finish', () => {
    // The code's defaults, as auth and a bridge read an environment that sets neither.
    const bridgeDefaults = parseBridgeConfig({}).shutdown
    const [delay, timeout] = [bridgeDefaults.delayMs / 1000, bridgeDefaults.timeoutMs / 1000]
    expect(loadConfig({}).shutdown).toEqual(bridgeDefaults)
    // auth reads them from .env; each bridge gets them from .env, with the code's defaults.
    expect(compose.services.auth?.env_file?.map((file) => file.path)).toEqual(['.env'])
    for (const service of serviceCatalog) {
      const environment = compose.services[`mcp-${service.name}`]?.environment ?? {}
      expect(environment.SHUTDOWN_DELAY, service.name).toBe(`\${SHUTDOWN_DELAY:-${delay}}`)
      expect(environment.SHUTDOWN_TIMEOUT, service.name).toBe(`\${SHUTDOWN_TIMEOUT:-${timeout}}`)
    }
    // Docker's SIGKILL only after the delay, the timeout and a bridge's children's 4 s, from one
    // setting in .env that is raised with the other two (compose cannot add them up).
    const example = /^# STOP_GRACE_PERIOD=(\d+)s$/m.exec(read('.env.example'))?.[1]
    expect(Number(example)).toBeGreaterThanOrEqual(delay + timeout + 5)
    for (const name of ['auth', ...serviceCatalog.map((service) => `mcp-${service.name}`)]) {
      expect(compose.services[name]?.stop_grace_period, name).toBe(
        `\${STOP_GRACE_PERIOD:-${example}s}`
      )
    }
  })

  it('passes the metrics settings to auth and every bridge, empty when .env has none', () => {
    expect(compose.services.auth?.environment?.METRICS_TOKEN).toBe(`\${METRICS_TOKEN:-}`)
    for (const service of serviceCatalog) {
      const environment = compose.services[`mcp-${service.name}`]?.environment ?? {}
      expect(environment.METRICS_PORT, service.name).toBe(`\${METRICS_PORT:-}`)
      expect(environment.METRICS_TOKEN, service.name).toBe(`\${METRICS_TOKEN:-}`)
    }
  })

  it('has docs/metrics.md scrape containers by their compose names, on networks it joins', () => {
    const doc = read('docs/metrics.md')
    const section = doc.slice(doc.indexOf('### With compose'), doc.indexOf('### On Kubernetes'))
    const metricsPort = /`METRICS_PORT=(\d+)`/.exec(section)?.[1]
    const joined = (/`networks: \[([^\]]+)\]`/.exec(section)?.[1] ?? '')
      .split(',')
      .map((network) => network.trim())
    for (const network of joined) expect(compose.networks, network).toHaveProperty(network)
    const targets = [...section.matchAll(/'([a-z0-9-]+):(\d+)'/g)]
    expect(targets.map(([, host]) => host)).toContain('auth')
    expect(targets.length).toBeGreaterThan(1)
    for (const [, host = '', port] of targets) {
      const container = compose.services[host]
      expect(container, host).toBeDefined()
      expect(
        joined.some((network) => container?.networks?.includes(network)),
        host
      ).toBe(true)
      const expected = host === 'auth' ? container?.environment?.INTERNAL_PORT : metricsPort
      expect(port, host).toBe(expected)
    }
  })

  it('puts Traefik and auth on the network whose subnet Traefik trusts', () => {
    expect(compose.networks.edge?.ipam?.config[0]?.subnet).toBe('172.30.0.0/24')
    expect(members('edge').sort()).toEqual(['auth', 'traefik'])
  })

  it('documents in .env.example every variable the compose file reads', () => {
    const example = read('.env.example')
    const used = new Set(
      [...read('docker-compose.yml').matchAll(/\$\{([A-Z_]+)/g)].map((m) => m[1])
    )
    for (const variable of used)
      expect(example, variable).toMatch(new RegExp(`^#? ?${variable}=`, 'm'))
  })
})
