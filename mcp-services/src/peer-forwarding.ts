import http, { type IncomingMessage } from 'node:http'
import https from 'node:https'
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
  /** Told when the peer cut an answer short (it stopped or died); the client's stream ends. */
  readonly onCut?: ((error: Error) => void) | undefined
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
  /** The forwarded GETs still open (SSE streams that never end by themselves). */
  readonly #streams = new Set<ForwardedBody>()
  /** Once draining, a GET whose answer comes after `endStreams` is ended as it comes. */
  #streamsEnded = false

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
    const forwarded = toResponse(answer, this.#options.onCut)
    // A GET is the session's standalone stream (or a resumed one): open until someone ends it.
    if (request.method === 'GET' && forwarded.body) {
      const stream = forwarded.body
      if (this.#streamsEnded) stream.end()
      else {
        this.#streams.add(stream)
        void stream.closed.then(() => this.#streams.delete(stream))
      }
    }
    return forwarded.response
  }

  /**
   * Ends the forwarded GET streams, as a replica ends its own sessions' standalone streams on
   * shutdown (their clients reconnect, through another replica, to the owner): otherwise they
   * stay open until the owner ends them and the listener cannot drain. So are those whose
   * answer the owner had not begun yet, as it begins.
   */
  endStreams(): void {
    this.#streamsEnded = true
    for (const stream of [...this.#streams]) stream.end()
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

/** A forwarded answer's body, which the forwarder can end, and which says when it is over. */
interface ForwardedBody {
  readonly stream: ReadableStream<Uint8Array>
  /** Ends the stream cleanly for the client and drops the connection to the peer. */
  end(): void
  /** Settles once the body is over: read to its end, cut, cancelled or ended. */
  readonly closed: Promise<void>
}

function toResponse(
  answer: IncomingMessage,
  onCut: ((error: Error) => void) | undefined
): { response: Response; body?: ForwardedBody } {
  const headers = new Headers()
  for (const [name, value] of Object.entries(answer.headers)) {
    if (value === undefined || HOP_BY_HOP.has(name)) continue
    for (const item of Array.isArray(value) ? value : [value]) headers.append(name, item)
  }
  const status = answer.statusCode ?? 502
  if ([204, 205, 304].includes(status)) {
    answer.resume()
    return { response: new Response(null, { status, headers }) }
  }
  const sse = (answer.headers['content-type'] ?? '').startsWith('text/event-stream')
  const body = bodyOf(answer, sse, onCut)
  const statusText = answer.statusMessage ?? ''
  return { response: new Response(body.stream, { status, statusText, headers }), body }
}

/**
 * The peer's answer as a web stream. Cancelling it (the client went away) destroys the connection
 * to the peer, which ends the stream on the peer's side as well; `end` does the same and closes
 * the stream cleanly for the client. When the peer cuts the answer short (it stopped or died), an
 * SSE stream just ends, as the owner's own streams end (a client reconnects; an event cut in the
 * middle is dropped by its parser): erroring it would reach the Node adapter, which prints the
 * error's stack to stderr. Any other body errors, so the client's connection is cut too rather
 * than a truncated JSON body looking complete.
 */
function bodyOf(
  answer: IncomingMessage,
  sse: boolean,
  onCut: ((error: Error) => void) | undefined
): ForwardedBody {
  let controller: ReadableStreamDefaultController<Uint8Array> | undefined
  let finished = false
  const closed = Promise.withResolvers<void>()
  const finish = (error?: Error) => {
    if (finished) return false
    finished = true
    closed.resolve()
    if (error) onCut?.(error)
    return true
  }
  const end = () => {
    if (!finish()) return
    controller?.close()
    answer.destroy()
  }
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c
      answer.on('data', (chunk: Buffer) => {
        if (finished) return
        c.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))
        if ((c.desiredSize ?? 0) <= 0) answer.pause()
      })
      answer.on('end', () => {
        if (finish()) c.close()
      })
      answer.on('error', (error) => {
        if (!finish(error)) return
        if (sse) c.close()
        else c.error(error)
      })
      // Destroyed without an error (by `end` or a cancel): nothing more comes.
      answer.on('close', () => {
        if (finish()) c.close()
      })
    },
    pull() {
      answer.resume()
    },
    cancel() {
      finish()
      answer.destroy()
    },
  })
  return { stream, end, closed: closed.promise }
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
