import type { Context, MiddlewareHandler } from 'hono'
import { identityFromHeaders } from './identity.ts'
import { jsonRpcErrorResponse, SERVER_ERROR } from './json-rpc-error.ts'

/** What `/mcp` lets one user, and all users together, have handled at once. */
export interface InHandBounds {
  /** Requests of one user (`MAX_REQUESTS_PER_USER`). */
  readonly requestsPerUser: number
  /** Body bytes of one user's requests (`MAX_REQUEST_BYTES_PER_USER`). */
  readonly bytesPerUser: number
  /** Body bytes of every user's requests, as they arrive (`MAX_REQUEST_BYTES`). */
  readonly bytes: number
  /**
   * The largest body (`MAX_REQUEST_BODY_BYTES`): what a body of unknown length is counted as for
   * its user, and the most one body counts for everyone.
   */
  readonly maxBodyBytes: number
}

/**
 * `/mcp`'s bounds on what it handles at once, from a request's arrival to the start of its
 * answer, ahead of everything that reads a body (forwarding to the replica that owns a session
 * included): a user's requests, and the bytes of their bodies, a user's and everyone's. A body is
 * held several times over while it is handled (its bytes, its text, the parsed message, what the
 * child is sent, the answer): counting requests alone let one account's 32 bodies of 4 MiB take
 * 750 MB. A user's bytes are counted at the size their bodies declare, so that a user's own slow
 * bodies hold back only that user; everyone's as the bodies arrive, since idle connections that
 * merely declare large bodies would otherwise hold the bridge for every user at no cost. Beyond a
 * user's bound: 429 on arrival; beyond everyone's: the read ends, and the reader answers
 * {@link bridgeFullAnswer}. A request without an identity passes, to be refused where identities
 * are checked.
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
    let arrived: { giveBack(): void } | undefined
    try {
      arrived =
        bytes <= COUNTED_IN_FULL
          ? countedInFull(handling, bytes)
          : countArrivingBody(c, handling, bounds.maxBodyBytes)
      if (arrived === undefined) return bridgeFullAnswer()
      await next()
    } finally {
      handling.give(identity.userId, bytes)
      arrived?.giveBack()
    }
    return undefined
  }
}

/**
 * A body declared this small counts for everyone in full from its arrival, as for its user: most
 * of an MCP client's requests are a few KB, and counting their bytes as they come costs each of
 * them a second request object and stream, a tenth of a millisecond of the bridge's CPU. Idle
 * connections that declare small bodies hold little: 2 MiB for one user's 32 requests in hand,
 * so 32 accounts to hold the default bound, against 4 when a body counted at its declared 4 MiB.
 */
const COUNTED_IN_FULL = 64 * 1024

function countedInFull(handling: RequestsInHand, bytes: number): { giveBack(): void } | undefined {
  if (!handling.takeArrived(bytes)) return undefined
  return { giveBack: () => handling.giveArrived(bytes) }
}

/** A body's read was ended: its next bytes would take everyone's bytes in hand past the bound. */
export class BridgeFull extends Error {}

/** The answer to a request whose body's read ended with {@link BridgeFull}. */
export function bridgeFullAnswer(): Response {
  return jsonRpcErrorResponse(
    503,
    SERVER_ERROR,
    'Service Unavailable: the bridge is handling as much as it may at once; retry shortly',
    { 'Retry-After': '1' }
  )
}

/**
 * Gives the request a body that counts its bytes against everyone's bound as they are read,
 * whoever reads them (the body reader, the forwarding to a peer): the same chunks, passed on
 * uncopied, and read from the client only as they are asked for. Counting stops at the largest
 * body, so that a larger one is the reader's 413, not a 503. `giveBack` once the answer starts.
 */
function countArrivingBody(
  c: Context,
  handling: RequestsInHand,
  maxBodyBytes: number
): { giveBack(): void } {
  const request = c.req.raw
  if (request.method !== 'POST' || request.body === null) return { giveBack() {} }
  const reader = request.body.getReader()
  let held = 0
  let answered = false
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const { done, value } = await reader.read()
        if (done) return controller.close()
        const bytes = answered ? 0 : Math.min(value.byteLength, maxBodyBytes - held)
        if (bytes > 0 && !handling.takeArrived(bytes)) return controller.error(new BridgeFull())
        held += bytes
        controller.enqueue(value)
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 }
  )
  c.req.raw = new Request(request.url, {
    method: request.method,
    headers: request.headers,
    signal: request.signal,
    body,
    duplex: 'half',
  })
  return {
    giveBack() {
      answered = true
      handling.giveArrived(held)
      held = 0
    },
  }
}

/**
 * The bytes a request's body will hold, as its user's bound counts them: its `Content-Length`, or
 * the largest body when it has none (chunked). A length above the largest is refused where the
 * body is read, unread.
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
 * once its answer has started; the same for everyone's bytes with `takeArrived` as they arrive
 * and `giveArrived`. A user with nothing in hand may always send one request whose declared body
 * is the largest allowed, as the configuration checks the bounds leave room for it.
 */
export class RequestsInHand {
  readonly #users = new Map<string, { requests: number; bytes: number }>()
  readonly #bounds: InHandBounds
  #bytes = 0

  constructor(bounds: InHandBounds) {
    this.#bounds = bounds
  }

  take(userId: string, bytes = 0): 'requests' | 'bytes' | undefined {
    const user = this.#users.get(userId) ?? { requests: 0, bytes: 0 }
    if (user.requests >= this.#bounds.requestsPerUser) return 'requests'
    if (user.bytes + bytes > this.#bounds.bytesPerUser) return 'bytes'
    user.requests += 1
    user.bytes += bytes
    this.#users.set(userId, user)
    return undefined
  }

  give(userId: string, bytes = 0): void {
    const user = this.#users.get(userId)
    if (!user) return
    user.requests -= 1
    user.bytes -= bytes
    // An entry per user only while they have a request in hand: the map does not grow with users.
    if (user.requests <= 0) this.#users.delete(userId)
  }

  /** Counts bytes of a body that arrived; false, counting nothing, when they would pass the bound. */
  takeArrived(bytes: number): boolean {
    if (this.#bytes + bytes > this.#bounds.bytes) return false
    this.#bytes += bytes
    return true
  }

  giveArrived(bytes: number): void {
    this.#bytes -= bytes
  }
}
