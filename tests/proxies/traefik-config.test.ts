import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { loadConfig } from '../../auth/src/config.ts'
import { IDENTITY_HEADERS } from '../../auth/src/verify/identity-headers.ts'
import { serviceCatalog } from '../../mcp-services/src/catalog.ts'
import { SHARED_SECRET_HEADER } from '../../mcp-services/src/shared-secret.ts'
import { TRAEFIK_ROUTES_FILE, traefikServiceRoutes } from '../../scripts/generate-traefik-routes.ts'
import { mintAccessToken } from '../support/access-tokens.ts'
import { createTestAuthServer, type TestAuthServer } from '../support/auth-app.ts'

const TRAEFIK = join(import.meta.dirname, '../../traefik')
const DOMAIN = 'example.com'
/** What Traefik renders the shared-secret template to, here. */
const SECRET_TEMPLATE = '{{ env "BRIDGE_SHARED_SECRET" }}'
const SECRET = 'rendered-bridge-secret'

interface Router {
  rule: string
  priority?: number
  service: string
  middlewares?: string[]
  entryPoints?: string[]
}
interface Dynamic {
  http: {
    routers: Record<string, Router>
    middlewares: Record<string, Record<string, Record<string, unknown>>>
    services: Record<
      string,
      { loadBalancer: { servers: { url: string }[] } & Record<string, unknown> }
    >
  }
}

/** Every dynamic file merged, with the Go template Traefik would render replaced. */
async function dynamicConfiguration(): Promise<Dynamic> {
  const merged: Dynamic = { http: { routers: {}, middlewares: {}, services: {} } }
  const dir = join(TRAEFIK, 'dynamic')
  for (const file of (await readdir(dir)).filter((name) => name.endsWith('.yml'))) {
    const text = (await readFile(join(dir, file), 'utf8'))
      .replaceAll('{{ env "BASE_DOMAIN" }}', DOMAIN)
      .replaceAll(SECRET_TEMPLATE, SECRET)
    expect(text, `${file} uses a template Traefik may not render`).not.toContain('{{')
    const http: Partial<Dynamic['http']> = (parse(text) as Partial<Dynamic>).http ?? {}
    Object.assign(merged.http.routers, http.routers)
    Object.assign(merged.http.middlewares, http.middlewares)
    Object.assign(merged.http.services, http.services)
  }
  return merged
}

describe('the Traefik configuration matches the code', () => {
  let dynamic: Dynamic
  let server: TestAuthServer
  const forwardAuth = () =>
    dynamic.http.middlewares['mcp-auth']?.forwardAuth as Record<string, unknown>

  beforeAll(async () => {
    dynamic = await dynamicConfiguration()
    server = await createTestAuthServer({ ALLOWED_GITHUB_USERS: '*' })
  })
  afterAll(() => server.close())

  it('sends forward-auth to a real route of the auth server, on its port', async () => {
    const address = new URL(String(forwardAuth().address))
    expect(address.port).toBe(String(loadConfig({ GATEWAY_MODE: 'auth' }).port))
    expect(dynamic.http.services.auth?.loadBalancer.servers[0]?.url).toBe(address.origin)
    const response = await server.request(address.pathname)
    expect(response.status).toBe(401)
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/)
  })

  it('copies exactly the identity headers /verify emits', async () => {
    const { token } = await mintAccessToken(server)
    const response = await server.request('/verify', {
      headers: {
        'X-Original-URL': 'http://localhost:8080/echo/mcp',
        Authorization: `Bearer ${token}`,
      },
    })
    expect(response.status).toBe(200)
    const emitted = [...response.headers.keys()].filter(
      (name) => name.startsWith('x-') && name !== 'x-content-type-options'
    )
    const copied = forwardAuth().authResponseHeaders as string[]
    expect(copied).toEqual([...IDENTITY_HEADERS])
    expect(copied.map((name) => name.toLowerCase()).sort()).toEqual(emitted.sort())
  })

  it('recomputes X-Forwarded-* at forward-auth rather than trusting the client', () => {
    expect(forwardAuth().trustForwardHeader).toBe(false)
  })

  it('strips Authorization after forward-auth on every protected router', () => {
    expect(dynamic.http.middlewares['strip-authorization']).toEqual({
      headers: { customRequestHeaders: { Authorization: '' } },
    })
    const protectedRouters = Object.entries(dynamic.http.routers).filter(([, r]) =>
      r.middlewares?.includes('mcp-auth')
    )
    expect(protectedRouters.length).toBeGreaterThan(0)
    for (const [name, router] of protectedRouters) {
      const order = router.middlewares ?? []
      expect(order.indexOf('strip-authorization'), name).toBeGreaterThan(order.indexOf('mcp-auth'))
    }
  })

  it('adds the shared secret, from Traefik’s environment, to every request sent to a bridge', async () => {
    const raw = await readFile(join(TRAEFIK, 'dynamic/bridge-secret.yml'), 'utf8')
    expect(raw).toContain(`'${SECRET_TEMPLATE}'`)
    expect(dynamic.http.middlewares['bridge-secret']).toEqual({
      headers: { customRequestHeaders: { [SHARED_SECRET_HEADER]: SECRET } },
    })
    const toBridge = ([, router]: [string, Router]) =>
      (dynamic.http.services[router.service]?.loadBalancer.servers ?? []).some((server) =>
        server.url.startsWith('http://mcp-')
      )
    const routers = Object.entries(dynamic.http.routers)
    // Per service: /mcp behind forward-auth, and the bridge's open /health, nothing else.
    expect(routers.filter(toBridge).length).toBe(2 * serviceCatalog.length)
    for (const [name, router] of routers) {
      const order = router.middlewares ?? []
      if (toBridge([name, router]) && router.rule.endsWith('&& Path(`/health`)')) {
        expect(order, name).toContain('bridge-secret')
      } else if (toBridge([name, router])) {
        expect(order[0], name).toBe('mcp-auth')
        expect(order.indexOf('bridge-secret'), name).toBeGreaterThan(0)
      } else {
        // Nothing else, the auth server included, ever sees the secret.
        expect(order, name).not.toContain('bridge-secret')
      }
    }
  })

  it('routes /mcp of every catalog service to it, behind forward-auth, on its resource URL', () => {
    const all = Object.fromEntries(
      serviceCatalog.map((s) => [`MCP_${s.name.toUpperCase().replace(/-/g, '_')}_ENABLED`, 'true'])
    )
    const config = loadConfig({ BASE_DOMAIN: DOMAIN, ...all })
    for (const service of serviceCatalog) {
      const router = dynamic.http.routers[`mcp-${service.name}`]
      expect(router, service.name).toBeDefined()
      const resource = new URL(
        config.protectedResources.find((r) => r.service.name === service.name)?.resource ?? ''
      )
      expect(router?.rule).toBe(
        `Host(\`${resource.host}\`) && (Path(\`${resource.pathname}\`) || PathPrefix(\`${resource.pathname}/\`))`
      )
      expect(router?.middlewares?.[0]).toBe('mcp-auth')
      const upstream = dynamic.http.services[router?.service ?? '']
      expect(upstream?.loadBalancer.servers[0]?.url).toBe(`http://mcp-${service.name}:3000`)
      expect(upstream?.loadBalancer.responseForwarding).toEqual({ flushInterval: '-1ms' })
      const fallbacks = dynamic.http.routers[`mcp-${service.name}-oauth-fallbacks`]
      expect(fallbacks?.service).toBe('auth')
      for (const path of ['/authorize', '/token', '/register']) {
        expect(fallbacks?.rule).toContain(`Path(\`${path}\`)`)
      }
    }
  })

  it('sends discovery on every host to the auth server, above the service routers', () => {
    const wellKnown = dynamic.http.routers['well-known']
    expect(wellKnown?.rule).toBe('PathPrefix(`/.well-known/`)')
    expect(wellKnown?.service).toBe('auth')
    for (const router of Object.values(dynamic.http.routers)) {
      if (router !== wellKnown) expect(wellKnown?.priority).toBeGreaterThan(router.priority ?? 0)
    }
    const issuer = new URL(loadConfig({ BASE_DOMAIN: DOMAIN }).issuer)
    expect(dynamic.http.routers.auth?.rule).toBe(`Host(\`${issuer.host}\`)`)
  })

  it('keeps the generated service routes up to date with the catalog', async () => {
    expect(await readFile(TRAEFIK_ROUTES_FILE, 'utf8')).toBe(traefikServiceRoutes(serviceCatalog))
  })

  it('redirects http to https, gets certificates from ACME and reads only the file provider', async () => {
    const text = await readFile(join(TRAEFIK, 'traefik.yml'), 'utf8')
    const stat = parse(text) as Record<string, Record<string, Record<string, unknown>>>
    const web = stat.entryPoints?.web as { http: { redirections: { entryPoint: unknown } } }
    expect(web.http.redirections.entryPoint).toMatchObject({ to: 'websecure', scheme: 'https' })
    expect(stat.entryPoints?.websecure).toMatchObject({
      http: { tls: { certResolver: 'letsencrypt' } },
    })
    expect(stat.certificatesResolvers?.letsencrypt).toMatchObject({
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the placeholder rendered at start-up
      acme: { email: '${ACME_EMAIL}' },
    })
    // Routes come from files only: no docker provider, so no Docker socket for Traefik.
    expect(stat.providers?.docker).toBeUndefined()
    expect(stat.providers?.file).toMatchObject({ directory: '/etc/traefik/dynamic' })
    expect(stat.accessLog).toMatchObject({ format: 'json' })
  })
})
