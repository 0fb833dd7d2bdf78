import { createHash, timingSafeEqual } from 'node:crypto'
import type { MiddlewareHandler } from 'hono'
import type { BoundedLog } from './bounded-log.ts'
import { jsonRpcErrorResponse, SERVER_ERROR } from './json-rpc-error.ts'

/** The header the edge (Traefik, Caddy, nginx) sets to `BRIDGE_SHARED_SECRET` on every request. */
export const SHARED_SECRET_HEADER = 'X-Bridge-Secret'

/**
 * Accepts a request only when it carries the deployment's shared secret, the proof that it came
 * through the edge, which replaced any identity headers the client sent after a successful
 * `/verify`. Without it the identity headers are anyone's word: a neighbour on the network (or
 * code running in another MCP container) could act as any user. Compared in constant time (both
 * sides hashed to equal length first); refused with 403 before anything else runs.
 */
export function sharedSecretGuard(secret: string, refusals: BoundedLog): MiddlewareHandler {
  const expected = digest(secret)
  return async (c, next) => {
    const presented = c.req.header(SHARED_SECRET_HEADER)
    if (presented === undefined || !timingSafeEqual(digest(presented), expected)) {
      refusals(
        'warn',
        'shared_secret_refused',
        {
          reason: presented === undefined ? 'absent' : 'wrong',
          presented: presented !== undefined,
        },
        'request without the edge’s shared secret refused'
      )
      return jsonRpcErrorResponse(
        403,
        SERVER_ERROR,
        `Forbidden: this endpoint only serves requests forwarded by the gateway (${SHARED_SECRET_HEADER})`
      )
    }
    await next()
    return undefined
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest()
}
