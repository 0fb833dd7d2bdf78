import type { IncomingMessage } from 'node:http'
import { type Context, Hono } from 'hono'
import type { AuthDeps } from '../deps.ts'
import { toForwardAuthResponse } from '../http/error-response.ts'
import { checkAccessRequest } from '../verify/access-request.ts'
import { createTargetResolver, type HeaderReader } from '../verify/forwarded-target.ts'
import { identityHeaders } from '../verify/identity-headers.ts'
import {
  type AccessTokenVerifier,
  createAccessTokenVerifier,
  type VerifiedToken,
} from '../verify/token-verifier.ts'

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
  const resolveTarget = createTargetResolver(deps.config)
  const allow = allowance()

  const refuse = (c: Context) => (error: unknown) => toForwardAuthResponse(error, c, deps.logger)

  // Not async: with the token and its revocation state cached, the answer is synchronous.
  const verify = (c: Context): Response | Promise<Response> => {
    try {
      const header = headerReader(c)
      const method = header('x-forwarded-method') ?? c.req.method
      // CORS preflights carry no token; the upstream answers them (with empty identity headers).
      if (c.req.method === 'OPTIONS' || method.toUpperCase() === 'OPTIONS') {
        return allow(undefined)
      }
      const { match, metadataUrl } = resolveTarget(header)
      const access = checkAccessRequest(verifier, {
        authorization: header('authorization'),
        resource: match?.resource,
        resourceMetadata: metadataUrl,
      })
      return access instanceof Promise ? access.then(allow, refuse(c)) : allow(access)
    } catch (error) {
      return refuse(c)(error)
    }
  }

  return new Hono().all('/verify', verify)
}

/**
 * Reads request headers from Node's parsed header object when served by `@hono/node-server`
 * (building a WHATWG `Headers` for every request costs the hot path dearly), else from the
 * request. Node keeps the first of repeated singleton fields such as `Authorization`.
 */
function headerReader(c: Context): HeaderReader {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming
  if (incoming) {
    const headers = incoming.headers
    return (name) => {
      const value = headers[name]
      return Array.isArray(value) ? value.join(', ') : value
    }
  }
  return (name) => c.req.header(name)
}

const PREFLIGHT_HEADERS = successHeaders(undefined)

/**
 * The 200 as a plain `Response` with a plain header object (no `Headers` on the hot path), the
 * object built once per verified token and kept as long as the verifier keeps that token.
 */
function allowance(): (token: VerifiedToken | undefined) => Response {
  const headersByToken = new WeakMap<VerifiedToken, Readonly<Record<string, string>>>()
  return (token) => {
    let headers = token ? headersByToken.get(token) : PREFLIGHT_HEADERS
    if (!headers) {
      headers = successHeaders(token)
      headersByToken.set(token as VerifiedToken, headers)
    }
    return new Response(null, { status: 200, headers })
  }
}

function successHeaders(token: VerifiedToken | undefined): Readonly<Record<string, string>> {
  return Object.freeze({
    ...identityHeaders(token),
    'Cache-Control': 'no-store',
    // An empty chunked body makes nginx and Caddy open a new connection per request (DESIGN §5).
    'Content-Length': '0',
  })
}
