import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { serviceCatalog } from '../../mcp-services/src/catalog.ts'

const root = new URL('../../', import.meta.url)
const read = (path: string) => readFileSync(new URL(path, root), 'utf8')

interface ComposeService {
  command?: string[]
  environment?: Record<string, string>
  networks?: string[]
}
const compose = parse(read('docker-compose.yml'), { merge: true }) as {
  services: Record<string, ComposeService>
  networks: { gateway: { ipam: { config: { subnet: string }[] } } }
}
const middlewares = parse(read('traefik/dynamic/middlewares.yml')) as {
  http: { middlewares: { 'mcp-auth': { forwardAuth: { address: string } } } }
}

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

  it('serves the authorization server where Traefik’s forward-auth looks for it', () => {
    const auth = compose.services.auth?.environment ?? {}
    const address = new URL(middlewares.http.middlewares['mcp-auth'].forwardAuth.address)
    expect(address.hostname).toBe('auth')
    expect(auth.PORT).toBe(address.port)
    expect(auth).toMatchObject({
      GATEWAY_MODE: 'auth',
      NODE_ENV: 'production',
      TRUST_PROXY: 'true',
    })
    expect(auth.REDIS_URL).toMatch(/^redis:\/\/:\$\{REDIS_PASSWORD\}@redis:6379/)
  })

  it('keeps Redis durable (AOF) and password-protected', () => {
    const command = compose.services.redis?.command ?? []
    expect(command.join(' ')).toMatch(/--appendonly yes/)
    expect(command.join(' ')).toMatch(/--requirepass \$\{REDIS_PASSWORD/)
  })

  it('puts everything on the network whose subnet Traefik trusts', () => {
    expect(compose.networks.gateway.ipam.config[0]?.subnet).toBe('172.30.0.0/24')
    for (const [name, service] of Object.entries(compose.services))
      expect(service.networks, name).toEqual(['gateway'])
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
