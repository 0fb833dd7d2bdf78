import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { GenericContainer, getContainerRuntimeClient, TestContainers } from 'testcontainers'
import { parse, stringify } from 'yaml'
import type { ProxyTargets, RunningProxy } from './proxy.ts'

/** The Traefik release the configuration in traefik/ is written for. */
const TRAEFIK_IMAGE = 'traefik:v3.6'

/** Whether a container engine answers, and if not why (as tests/support/redis-server.ts decides). */
export async function containerRuntime(): Promise<{ available: boolean; reason: string }> {
  try {
    await getContainerRuntimeClient()
    return { available: true, reason: '' }
  } catch (error) {
    return { available: false, reason: error instanceof Error ? error.message : String(error) }
  }
}

/**
 * Traefik in a container with the repository's own `mcp-auth` and `strip-authorization`
 * middlewares (traefik/dynamic/middlewares.yml), only the auth address pointed at the test's auth
 * server on the host, and its `bridge-secret` middleware (traefik/dynamic/bridge-secret.yml, as
 * is: Traefik renders the secret from its environment). Everything on the entry point goes
 * through that chain to the upstream, but `/.well-known/`, which its `well-known` router
 * (traefik/dynamic/auth.yml) sends to the auth server unchecked.
 */
export async function startTraefik(targets: ProxyTargets): Promise<RunningProxy> {
  await TestContainers.exposeHostPorts(targets.authPort, targets.upstreamPort)
  const shared = parse(
    await readFile(join(import.meta.dirname, '../../../traefik/dynamic/middlewares.yml'), 'utf8')
  ) as { http: { middlewares: Record<string, { forwardAuth?: { address: string } }> } }
  const bridgeSecret = await readFile(
    join(import.meta.dirname, '../../../traefik/dynamic/bridge-secret.yml'),
    'utf8'
  )
  // The repository's own router for the metadata documents, to the test's auth server.
  const authRouters = parse(
    await readFile(join(import.meta.dirname, '../../../traefik/dynamic/auth.yml'), 'utf8')
  ) as { http: { routers: Record<string, { rule: string; priority: number }> } }
  const wellKnown = authRouters.http.routers['well-known']
  if (!wellKnown) throw new Error('traefik/dynamic/auth.yml has no well-known router')
  const forwardAuth = shared.http.middlewares['mcp-auth']?.forwardAuth
  if (!forwardAuth) throw new Error('traefik/dynamic/middlewares.yml has no mcp-auth forwardAuth')
  forwardAuth.address = `http://host.testcontainers.internal:${targets.authPort}/verify`
  const dynamic = {
    http: {
      middlewares: shared.http.middlewares,
      routers: {
        'well-known': {
          rule: wellKnown.rule,
          priority: wellKnown.priority,
          entryPoints: ['web'],
          service: 'auth',
        },
        mcp: {
          rule: 'PathPrefix(`/`)',
          entryPoints: ['web'],
          service: 'upstream',
          middlewares: ['mcp-auth', 'strip-authorization', 'bridge-secret'],
        },
      },
      services: {
        auth: {
          loadBalancer: {
            servers: [{ url: `http://host.testcontainers.internal:${targets.authPort}` }],
          },
        },
        upstream: {
          loadBalancer: {
            servers: [{ url: `http://host.testcontainers.internal:${targets.upstreamPort}` }],
          },
        },
      },
    },
  }
  const container = await new GenericContainer(TRAEFIK_IMAGE)
    .withCommand([
      '--entryPoints.web.address=:80',
      '--providers.file.directory=/etc/traefik/dynamic',
      '--log.level=ERROR',
    ])
    .withEnvironment({ BRIDGE_SHARED_SECRET: targets.bridgeSecret })
    .withCopyContentToContainer([
      { content: stringify(dynamic), target: '/etc/traefik/dynamic/chain.yml' },
      { content: bridgeSecret, target: '/etc/traefik/dynamic/bridge-secret.yml' },
    ])
    .withExposedPorts({ container: 80, host: targets.proxyPort })
    .start()
  // The file provider loads shortly after the entry point opens: wait for the router.
  const deadline = Date.now() + 15_000
  while (
    (await fetch(`http://127.0.0.1:${targets.proxyPort}/`).catch(() => null))?.status !== 401
  ) {
    if (Date.now() > deadline) throw new Error('Traefik did not load the forward-auth router')
    await sleep(100)
  }
  let output = ''
  return {
    output: () => output,
    async stop() {
      output = String(await container.logs())
      await container.stop()
    },
  }
}
