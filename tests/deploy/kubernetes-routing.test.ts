import { expect, it } from 'vitest'
import {
  bridgeSecretTemplate,
  checkEachDeployment,
  composeRule,
  type Router,
  traefikMiddlewares,
  traefikRouters,
} from './kubernetes-deployment.ts'
import { type Container, find, ofKind } from './kubernetes-manifests.ts'

/** Traefik's IngressRoutes and Middlewares, as traefik/dynamic routes compose. */
checkEachDeployment((deployment) => {
  const { objects, authService, domain, enabledServices, namespace, servicePort } = deployment

  it('forward-authenticates at the auth Service’s /verify as traefik/ does', () => {
    const middleware = find(objects, 'Middleware', 'mcp-auth')?.spec.forwardAuth
    const address = new URL(middleware.address)
    expect(address.hostname).toBe(`auth.${namespace}.svc.cluster.local`)
    expect(address.port).toBe(String(servicePort(authService, 'http')))
    expect(address.pathname).toBe('/verify')
    expect(middleware).toEqual({
      ...(traefikMiddlewares['mcp-auth']?.forwardAuth as object),
      address: middleware.address,
    })
    for (const name of ['strip-authorization', 'security-headers'])
      expect(find(objects, 'Middleware', name)?.spec, name).toEqual(traefikMiddlewares[name])
  })

  it('routes the auth host as traefik/dynamic/auth.yml does, and /.well-known/ on no other host', () => {
    const routes = find(objects, 'IngressRoute', 'auth')?.spec.routes
    // Compose's Traefik serves the gateway alone and routes `/.well-known/` on any host; a
    // cluster's Traefik serves other sites too, so each service host routes its own (below).
    expect(routes.map((route: { match: string }) => route.match)).toEqual([
      composeRule('auth', domain),
    ])
    for (const route of routes)
      expect(route.services).toEqual([{ name: 'auth', port: servicePort(authService, 'http') }])
    expect(routes.map((route: Router) => route.priority)).toEqual([traefikRouters.auth?.priority])
    for (const ingress of ofKind(objects, 'IngressRoute')) {
      for (const route of ingress.spec.routes) expect(route.match).toMatch(/^Host\(`/)
    }
  })

  it('names only Middlewares and Services that exist (bridge-secret: from its template)', () => {
    const middlewares = [...ofKind(objects, 'Middleware'), ...bridgeSecretTemplate]
    for (const ingress of ofKind(objects, 'IngressRoute')) {
      for (const route of ingress.spec.routes) {
        for (const { name } of route.middlewares ?? [])
          expect(find(middlewares, 'Middleware', name), name).toBeDefined()
        for (const { name, port } of route.services) {
          const ports = find(objects, 'Service', name)?.spec.ports.map((p: Container) => p.port)
          expect(ports, `${ingress.metadata.name} → ${name}`).toContain(port)
        }
      }
    }
  })

  for (const service of enabledServices) {
    const name = `mcp-${service.name}`
    it(`routes ${service.name}.<domain> as traefik/dynamic/services.yml does`, () => {
      const routes = find(objects, 'IngressRoute', name)?.spec.routes
      const routers = [name, `${name}-health`, `${name}-oauth-fallbacks`]
      // The fallbacks to auth also take the host's `/.well-known/` (compose: its well-known router).
      const wellKnownToo = (rule = '') => rule.replace(/\)\)$/, ') || PathPrefix(`/.well-known/`))')
      expect(routes.map((route: { match: string }) => route.match)).toEqual(
        routers.map((router, i) => {
          const rule = composeRule(router, domain)
          return i === 2 ? wellKnownToo(rule) : rule
        })
      )
      routers.forEach((router, i) => {
        const route = routes[i]
        expect(route.priority).toBe(traefikRouters[router]?.priority)
        expect(route.middlewares.map((m: { name: string }) => m.name)).toEqual(
          traefikRouters[router]?.middlewares
        )
        const backend = i === 2 ? authService : find(objects, 'Service', name)
        expect(route.services[0].name).toBe(backend?.metadata.name)
        expect(route.services[0].port).toBe(backend?.spec.ports[0].port)
      })
    })
  }
})
