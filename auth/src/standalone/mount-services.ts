import type { Hono } from 'hono'
import type { Logger } from 'pino'
import {
  type Bridge,
  type BridgeConfig,
  childUserAdvice,
  createBridge,
  createChildUsers,
  hostAndOriginCheck,
} from '../../../mcp-services/src/index.ts'
import type { UserDirectory } from '../../../mcp-services/src/user-directory.ts'
import type { AuthDeps } from '../deps.ts'
import { NoSuchEndpoint } from '../errors.ts'
import { protectedResourceGuard } from '../verify/protected-resource-guard.ts'
import { createAccessTokenVerifier } from '../verify/token-verifier.ts'

/** The bridged services, as graceful shutdown drives them (see `Bridge`). */
export type MountedServices = Pick<Bridge, 'markNotReady' | 'drain' | 'close'>

/**
 * Standalone mode: each enabled service is bridged in this process at `/<name>/mcp`, behind the
 * same token check `/verify` applies at a reverse proxy. The guard replaces whatever identity
 * headers the client sent and removes `Authorization` before the bridge sees the request.
 * The bridges read users from `userDirectory` in this process, where a bridge behind a reverse
 * proxy calls the internal API. Returns what shutdown needs of the bridges.
 */
export function mountServices(
  app: Hono,
  deps: AuthDeps,
  bridgeConfig: BridgeConfig,
  bridgeLogger: Logger,
  userDirectory: UserDirectory
): MountedServices {
  const advice = childUserAdvice(bridgeConfig.childUser, process.getuid?.())
  if (advice && deps.config.protectedResources.length > 0) {
    bridgeLogger.warn({ event: 'children_as_root' }, advice)
  }
  // One set of children's ids for every service: no two children get the same one.
  const childUsers =
    bridgeConfig.childUser &&
    createChildUsers(bridgeConfig.childUser, bridgeConfig.childUidRange, { logger: bridgeLogger })
  // One verifier (and so one token cache) for every service.
  const verifier = createAccessTokenVerifier(deps)
  const bridges = deps.config.protectedResources.map((protectedResource) => {
    const path = new URL(protectedResource.resource).pathname
    const prefix = path.slice(0, -'/mcp'.length)
    const guard = protectedResourceGuard(deps, protectedResource, verifier)
    const bridge = createBridge({
      service: protectedResource.service,
      config: bridgeConfig,
      logger: bridgeLogger,
      // The policy's memberships and the GitHub service's tokens, read in process.
      userDirectory,
      // Step-up challenges name this resource's metadata, whatever Host the request came with.
      resource: protectedResource.resource,
      childUsers,
    })
    // The bridge's Host and Origin check first: a page of a foreign origin is refused (403) as the
    // transport requires, whether or not it sent a token, rather than told to sign in (401).
    const hostAndOrigin = hostAndOriginCheck({
      allowedHosts: bridgeConfig.allowedHosts,
      allowedOrigins: bridgeConfig.allowedOrigins,
      publicUrl: protectedResource.resource,
    })
    // Hono's `/x/*` also matches `/x` itself: one registration covers both.
    app.use(`${path}/*`, hostAndOrigin, guard)
    // As behind Traefik: a service's `/health` is its public liveness (uptime monitors,
    // `check-health`); its `/ready` is for a proxy beside it, and here the gateway's own `/ready`
    // answers for the process. (A service at the root, `/mcp`, shares the gateway's.)
    if (prefix !== '') {
      app.all(`${prefix}/ready`, () => {
        throw new NoSuchEndpoint('no such endpoint')
      })
    }
    app.route(prefix, bridge.app)
    return bridge
  })
  return {
    markNotReady: (reason) => {
      for (const bridge of bridges) bridge.markNotReady(reason)
    },
    drain: () => {
      for (const bridge of bridges) bridge.drain()
    },
    close: async () => {
      await Promise.all(bridges.map((bridge) => bridge.close()))
    },
  }
}
