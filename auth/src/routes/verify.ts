import { type Context, Hono } from 'hono'
import type { AuthDeps } from '../deps.ts'
import { toForwardAuthResponse } from '../http/error-response.ts'
import { verifyAccessRequest } from '../verify/access-request.ts'
import { forwardedTarget, resourceIndex } from '../verify/forwarded-target.ts'
import { identityHeaders } from '../verify/identity-headers.ts'
import { type AccessTokenVerifier, createAccessTokenVerifier } from '../verify/token-verifier.ts'

/** Where the path-less root form of the metadata lives, for a target that matches no resource. */
const ROOT_METADATA = '/.well-known/oauth-protected-resource'

/**
 * `GET|POST /verify`, the forward-auth endpoint (DESIGN §5) for Traefik `forwardAuth`, Caddy
 * `forward_auth` and nginx `auth_request`. The protected resource is the URL the proxy reports in
 * its forwarding headers. Answers 200 with the identity headers, or 401/403 with the challenge;
 * never anything else, and always with `Content-Length: 0`.
 */
export const verifyRoute = (
  deps: AuthDeps,
  verifier: AccessTokenVerifier = createAccessTokenVerifier(deps)
) => {
  const resources = resourceIndex(deps.config)

  const verify = async (c: Context) => {
    try {
      const method = c.req.header('x-forwarded-method') ?? c.req.method
      // CORS preflights carry no token; the upstream answers them (with empty identity headers).
      if (c.req.method === 'OPTIONS' || method.toUpperCase() === 'OPTIONS') {
        return allow(c, undefined)
      }
      const target = forwardedTarget((name) => c.req.header(name))
      const match = target ? resources.match(target) : undefined
      const token = await verifyAccessRequest(verifier, {
        authorization: c.req.header('authorization'),
        resource: match?.resource,
        resourceMetadata:
          match?.metadataUrl ?? (target ? target.origin + ROOT_METADATA : undefined),
      })
      return allow(c, token)
    } catch (error) {
      return toForwardAuthResponse(error, c, deps.logger)
    }
  }

  return new Hono().all('/verify', verify)
}

function allow(c: Context, token: Parameters<typeof identityHeaders>[0]): Response {
  return c.body(null, 200, {
    ...identityHeaders(token),
    'Cache-Control': 'no-store',
    // An empty chunked body makes nginx and Caddy open a new connection per request (DESIGN §5).
    'Content-Length': '0',
  })
}
