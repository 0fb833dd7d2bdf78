import type { MiddlewareHandler } from 'hono'
import { identityFromHeaders } from './identity.ts'
import { jsonRpcErrorResponse, SERVER_ERROR } from './json-rpc-error.ts'

/** What `/mcp` lets one user, and all users together, have handled at once. */
export interface InHandBounds {
  /** Requests of one user (`MAX_REQUESTS_PER_USER`). */
  readonly requestsPerUser: number
  /** Body bytes of one user's requests (`MAX_REQUEST_BYTES_PER_USER`). */
  readonly bytesPerUser: number
  /** Body bytes of every user's requests (`MAX_REQUEST_BYTES`). */
  readonly bytes: number
  /** The largest body (`MAX_REQUEST_BODY_BYTES`): what a body of unknown length is counted as. */
  readonly maxBodyBytes: number
}

/**
 * `/mcp`'s bounds on what it handles at once, from a request's arrival to the start of its
 * answer, ahead of everything that reads a body (forwarding to the replica that owns a session
 * included): a user's requests, and the bytes of their bodies, a user's and everyone's. A body is
 * held several times over while it is handled (its bytes, its text, the parsed message, what the
 * child is sent, the answer): counting requests alone let one account's 32 bodies of 4 MiB take
 * 750 MB. Beyond a user's bound: 429; beyond everyone's: 503; both with `Retry-After: 1`. A
 * request without an identity passes, to be refused where identities are checked.
 */
export function boundedInHand(bounds: InHandBounds, allowAnonymous: boolean): MiddlewareHandler {
  const handling = new RequestsInHand(bounds)
  return async (c, next) => {
    const identity = identityFromHeaders(c.req.raw.headers, allowAnonymous)
    if (!identity) return next()
    const bytes = declaredBodyBytes(c.req.raw, bounds.maxBodyBytes)
    const refusal = handling.take(identity.userId, bytes)
    if (refusal === 'requests') {
      return jsonRpcErrorResponse(
        429,
        SERVER_ERROR,
        `Too Many Requests: at most ${bounds.requestsPerUser} of your requests are handled at once; retry when one is answered`,
        { 'Retry-After': '1' }
      )
    }
    if (refusal === 'bytes') {
      return jsonRpcErrorResponse(
        429,
        SERVER_ERROR,
        `Too Many Requests: at most ${bounds.bytesPerUser} bytes of your requests' bodies are handled at once; retry when one is answered`,
        { 'Retry-After': '1' }
      )
    }
    if (refusal === 'everyone') {
      return jsonRpcErrorResponse(
        503,
        SERVER_ERROR,
        'Service Unavailable: the bridge is handling as much as it may at once; retry shortly',
        { 'Retry-After': '1' }
      )
    }
    try {
      await next()
    } finally {
      handling.give(identity.userId, bytes)
    }
    return undefined
  }
}

/**
 * The bytes a request's body will hold: its `Content-Length`, or the largest body when it has
 * none (chunked). A length above the largest is refused where the body is read, unread.
 */
function declaredBodyBytes(request: Request, maxBodyBytes: number): number {
  if (request.method !== 'POST') return 0
  const declared = Number(request.headers.get('content-length') ?? Number.NaN)
  return Number.isSafeInteger(declared) && declared >= 0
    ? Math.min(declared, maxBodyBytes)
    : maxBodyBytes
}

/**
 * How many requests of each user the bridge is handling at once, and the bytes of their bodies,
 * within bounds: `take` before handling one (a refusal names the bound it would pass), `give`
 * once its answer has started. A user with nothing in hand may always send one request whose
 * body is the largest allowed, as the configuration checks the bounds leave room for it.
 */
export class RequestsInHand {
  readonly #users = new Map<string, { requests: number; bytes: number }>()
  readonly #bounds: InHandBounds
  #bytes = 0

  constructor(bounds: InHandBounds) {
    this.#bounds = bounds
  }

  take(userId: string, bytes = 0): 'requests' | 'bytes' | 'everyone' | undefined {
    const user = this.#users.get(userId) ?? { requests: 0, bytes: 0 }
    if (user.requests >= this.#bounds.requestsPerUser) return 'requests'
    if (user.bytes + bytes > this.#bounds.bytesPerUser) return 'bytes'
    if (this.#bytes + bytes > this.#bounds.bytes) return 'everyone'
    user.requests += 1
    user.bytes += bytes
    this.#bytes += bytes
    this.#users.set(userId, user)
    return undefined
  }

  give(userId: string, bytes = 0): void {
    const user = this.#users.get(userId)
    if (!user) return
    user.requests -= 1
    user.bytes -= bytes
    this.#bytes -= bytes
    // An entry per user only while they have a request in hand: the map does not grow with users.
    if (user.requests <= 0) this.#users.delete(userId)
  }
}
