import type { MiddlewareHandler } from 'hono'
import { identityFromHeaders } from './identity.ts'
import { jsonRpcErrorResponse, SERVER_ERROR } from './json-rpc-error.ts'

/**
 * `/mcp`'s bound on the requests of one user handled at once (`MAX_REQUESTS_PER_USER`), from
 * arrival to the start of their answer, ahead of everything that reads a body (forwarding to the
 * replica that owns a session included). Beyond it: 429 with `Retry-After: 1`. A request without
 * an identity passes, to be refused where identities are checked.
 */
export function requestsPerUser(bound: number, allowAnonymous: boolean): MiddlewareHandler {
  const handling = new RequestsInHand(bound)
  return async (c, next) => {
    const identity = identityFromHeaders(c.req.raw.headers, allowAnonymous)
    if (!identity) return next()
    if (!handling.take(identity.userId)) {
      return jsonRpcErrorResponse(
        429,
        SERVER_ERROR,
        `Too Many Requests: at most ${bound} of your requests are handled at once; retry when one is answered`,
        { 'Retry-After': '1' }
      )
    }
    try {
      await next()
    } finally {
      handling.give(identity.userId)
    }
    return undefined
  }
}

/**
 * How many requests of each user the bridge is handling at once, within a bound: `take` before
 * handling one (false at the bound: refuse it), `give` once its answer has started. A request may
 * hold a body of up to `MAX_REQUEST_BODY_BYTES` while it arrives, so this bounds what one account
 * can make the bridge hold in memory, whatever the pace at which it sends.
 */
export class RequestsInHand {
  readonly #counts = new Map<string, number>()
  readonly #bound: number

  constructor(bound: number) {
    this.#bound = bound
  }

  take(userId: string): boolean {
    const count = this.#counts.get(userId) ?? 0
    if (count >= this.#bound) return false
    this.#counts.set(userId, count + 1)
    return true
  }

  give(userId: string): void {
    const count = (this.#counts.get(userId) ?? 1) - 1
    // An entry per user only while they have a request in hand: the map does not grow with users.
    if (count > 0) this.#counts.set(userId, count)
    else this.#counts.delete(userId)
  }
}
