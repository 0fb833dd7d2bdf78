import type { MiddlewareHandler } from 'hono'
import type { ProtectedResource } from '../config.ts'
import type { AuthDeps } from '../deps.ts'
import { AccessDenied } from '../errors.ts'
import { protectedResourceMetadataUrl } from '../oauth/resource.ts'
import { checkAccessRequest } from './access-request.ts'
import { IDENTITY_HEADERS, identityHeaders } from './identity-headers.ts'
import { identityLookalike } from './identity-lookalikes.ts'
import { type AccessTokenVerifier, createAccessTokenVerifier } from './token-verifier.ts'

/**
 * The `/verify` check in-process, for the standalone mode: mount it in front of a service's
 * `/<name>/mcp` routes. On success the request goes on with the identity headers set (client-sent
 * values overwritten) and without `Authorization`, exactly as behind a proxy; on refusal it throws
 * the typed error, which the app's error handler turns into the 401/403 challenge.
 *
 * @example app.use('/echo/mcp', protectedResourceGuard(deps, echoResource))
 */
export function protectedResourceGuard(
  deps: AuthDeps,
  protectedResource: ProtectedResource,
  verifier: AccessTokenVerifier = createAccessTokenVerifier(deps)
): MiddlewareHandler {
  const resourceMetadata = protectedResourceMetadataUrl(protectedResource.resource)
  return async (c, next) => {
    // As `/verify` does (http/forward-auth.ts): the service may run any server behind the bridge.
    if (identityLookalike(c.req.raw.headers.keys()) !== undefined) {
      throw new AccessDenied('the request carries a header named like an identity header', {
        reason: 'identity_header_lookalike',
      })
    }
    const token =
      c.req.method === 'OPTIONS'
        ? undefined
        : await checkAccessRequest(verifier, {
            authorization: c.req.header('authorization'),
            resource: protectedResource,
            resourceMetadata,
          })
    const headers = c.req.raw.headers
    headers.delete('authorization')
    const identity = identityHeaders(token)
    for (const name of IDENTITY_HEADERS) headers.set(name, identity[name])
    await next()
  }
}
