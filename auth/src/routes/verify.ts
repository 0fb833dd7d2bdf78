import { IncomingMessage } from 'node:http'
import { type Context, Hono } from 'hono'
import type { ForwardAuth, ForwardAuthAnswer } from '../http/forward-auth.ts'
import { nodeHeaderReader } from '../http/forward-auth-listener.ts'
import type { HeaderReader } from '../verify/forwarded-target.ts'

/**
 * `GET|POST /verify`, the forward-auth endpoint (DESIGN §5) for Traefik `forwardAuth`, Caddy
 * `forward_auth` and nginx `auth_request`, as a route of the app (`app.request`, other runtimes).
 * Served by Node, the listener in front of the app answers it first (`forward-auth-listener.ts`);
 * both ask the same `ForwardAuth`.
 */
export const verifyRoute = (forwardAuth: ForwardAuth) =>
  new Hono().all('/verify', (c): Response | Promise<Response> => {
    const { header, fieldNames } = requestHeaders(c)
    const answer = forwardAuth(header, c.req.method, fieldNames)
    return answer instanceof Promise ? answer.then(toResponse) : toResponse(answer)
  })

/** A plain `Response` with a plain header object: no WHATWG `Headers` on the hot path. */
function toResponse(answer: ForwardAuthAnswer): Response {
  return new Response(null, { status: answer.status, headers: answer.headers })
}

/**
 * Reads request headers from Node's parsed header object when served by `@hono/node-server`
 * (building a WHATWG `Headers` for every request costs the hot path dearly), else from the
 * request. Node keeps the first of repeated singleton fields such as `Authorization`.
 */
function requestHeaders(c: Context): { header: HeaderReader; fieldNames: Iterable<string> } {
  const incoming = (c.env as { incoming?: unknown } | undefined)?.incoming
  return incoming instanceof IncomingMessage
    ? { header: nodeHeaderReader(incoming), fieldNames: Object.keys(incoming.headers) }
    : { header: (name) => c.req.header(name), fieldNames: c.req.raw.headers.keys() }
}
