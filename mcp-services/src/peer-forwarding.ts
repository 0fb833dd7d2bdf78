import http, { type IncomingMessage } from 'node:http'
import https from 'node:https'
import { Readable } from 'node:stream'
import { SHARED_SECRET_HEADER } from './shared-secret.ts'

/**
 * Marks a request one replica forwarded to another, with the sender's id as its value. A replica
 * never forwards a request that carries it (owner-routing.ts), so a request crosses at most one
 * hop even when two replicas' peer lists disagree.
 */
export const FORWARDED_HEADER = 'X-Bridge-Forwarded'

/** Headers of one connection, not of the message (RFC 9110 §7.6.1), plus the framing Node sets. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'expect',
  'content-length',
])

/** Waiting longer than this for a peer's TCP connection means the peer is gone. */
const CONNECT_TIMEOUT_MS = 5_000

/** The peer could not be reached, or dropped the connection before it answered. */
export class PeerUnreachable extends Error {}

/** The request body is larger than the bridge accepts; nothing was sent. */
export class BodyTooLarge extends Error {}

export interface PeerForwarderOptions {
  /** This replica's id, sent in {@link FORWARDED_HEADER}. */
  readonly selfId: string
  /** The deployment's shared secret, which the peer's guard checks like the edge's. */
  readonly sharedSecret: string | undefined
  readonly maxRequestBodyBytes: number
}

/**
 * Relays one HTTP request to another replica and its answer back, streaming the answer (SSE
 * streams stay open for as long as the client reads them; a client that goes away closes the
 * connection to the peer too). Every header is kept, `Host` and the identity headers included,
 * so the peer runs the same checks the edge's request would have passed. The body (bounded by
 * the bridge's limit) is read first so that a request on a pooled connection the peer had just
 * closed can be sent once more.
 */
export class PeerForwarder {
  readonly #options: PeerForwarderOptions
  readonly #agents = {
    'http:': new http.Agent({ keepAlive: true }),
    'https:': new https.Agent({ keepAlive: true }),
  }

  constructor(options: PeerForwarderOptions) {
    this.#options = options
  }

  /**
   * Rejects with {@link PeerUnreachable} or {@link BodyTooLarge}; any answer is returned. `read`:
   * the body, when the caller has read it already.
   */
  async forward(request: Request, peerUrl: string, read?: string): Promise<Response> {
    const body =
      read === undefined
        ? await readBounded(request, this.#options.maxRequestBodyBytes)
        : Buffer.from(read)
    const incoming = new URL(request.url)
    const target = new URL(incoming.pathname + incoming.search, peerUrl)
    const headers = this.#headersFor(request, body)
    // The Host the edge sent (the request's URL is built from it): the owner checks it again.
    headers.host ??= incoming.host
    let answer: IncomingMessage
    try {
      answer = await this.#send(target, request, headers, body)
    } catch (error) {
      if (!(error instanceof RetryableReset)) throw error
      answer = await this.#send(target, request, headers, body)
    }
    return toResponse(answer)
  }

  /** Closes the pooled connections to peers. */
  close(): void {
    this.#agents['http:'].destroy()
    this.#agents['https:'].destroy()
  }

  #headersFor(request: Request, body: Buffer | undefined): Record<string, string> {
    const headers: Record<string, string> = {}
    request.headers.forEach((value, name) => {
      if (!HOP_BY_HOP.has(name)) headers[name] = value
    })
    delete headers[SHARED_SECRET_HEADER.toLowerCase()]
    if (this.#options.sharedSecret !== undefined) {
      headers[SHARED_SECRET_HEADER] = this.#options.sharedSecret
    }
    headers[FORWARDED_HEADER] = this.#options.selfId
    if (body !== undefined) headers['content-length'] = String(body.byteLength)
    return headers
  }

  #send(
    target: URL,
    request: Request,
    headers: Record<string, string>,
    body: Buffer | undefined
  ): Promise<IncomingMessage> {
    const transport = target.protocol === 'https:' ? https : http
    const agent = this.#agents[target.protocol === 'https:' ? 'https:' : 'http:']
    return new Promise((resolve, reject) => {
      // The client going away (the edge closing its connection) ends the request to the peer too.
      const options = { method: request.method, headers, agent, signal: request.signal }
      const outgoing = transport.request(target, options, resolve)
      outgoing.on('error', (error: NodeJS.ErrnoException) => {
        // A pooled connection the peer closed just as it was reused: the request never arrived.
        if (outgoing.reusedSocket && error.code === 'ECONNRESET') reject(new RetryableReset())
        else reject(new PeerUnreachable(error.message, { cause: error }))
      })
      outgoing.on('socket', (socket) => {
        if (!socket.connecting) return
        const timer = setTimeout(
          () => outgoing.destroy(new Error(`no connection within ${CONNECT_TIMEOUT_MS} ms`)),
          CONNECT_TIMEOUT_MS
        )
        timer.unref()
        socket.once('connect', () => clearTimeout(timer))
        socket.once('close', () => clearTimeout(timer))
      })
      outgoing.end(body)
    })
  }
}

class RetryableReset extends Error {}

function toResponse(answer: IncomingMessage): Response {
  const headers = new Headers()
  for (const [name, value] of Object.entries(answer.headers)) {
    if (value === undefined || HOP_BY_HOP.has(name)) continue
    for (const item of Array.isArray(value) ? value : [value]) headers.append(name, item)
  }
  const status = answer.statusCode ?? 502
  if ([204, 205, 304].includes(status)) {
    answer.resume()
    return new Response(null, { status, headers })
  }
  // Cancelling this stream (the client went away) destroys the connection to the peer, which
  // ends the stream on the peer's side as well.
  const body = Readable.toWeb(answer) as ReadableStream<Uint8Array>
  return new Response(body, { status, statusText: answer.statusMessage ?? '', headers })
}

async function readBounded(request: Request, limit: number): Promise<Buffer | undefined> {
  if (request.body === null) return undefined
  const chunks: Uint8Array[] = []
  let size = 0
  for await (const chunk of request.body) {
    size += chunk.byteLength
    if (size > limit) throw new BodyTooLarge(`request body larger than ${limit} bytes`)
    chunks.push(chunk)
  }
  return Buffer.concat(chunks)
}
