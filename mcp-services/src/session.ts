import { randomUUID } from 'node:crypto'
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js'
import {
  isInitializeRequest,
  isJSONRPCErrorResponse,
  isJSONRPCRequest,
  isJSONRPCResultResponse,
  type JSONRPCMessage,
  type RequestId,
} from '@modelcontextprotocol/sdk/types.js'
import type { Logger } from 'pino'
import { withAcceptAsRead } from './accept.ts'
import { withCapabilitiesHidden } from './capability-hiding.ts'
import type { ChildConnection } from './child-process.ts'
import { type EventStoreLimits, replayRefusedResponse, SessionEventStore } from './event-store.ts'
import type { Identity } from './identity.ts'
import { childGoneError, INTERNAL_ERROR, UNDELIVERED } from './json-rpc-error.ts'
import { InFlightRequests } from './message-routing.ts'
import { onEnd, streamedAsWritten } from './sse.ts'
import { StartBound } from './start-bound.ts'

type StreamKind = 'post' | 'standalone' | 'resumed'

export interface SessionOptions {
  readonly identity: Identity
  readonly child: ChildConnection
  readonly logger: Logger
  readonly now: () => number
  readonly maxRequestBodyBytes: number
  /** What is kept of the session's SSE events for `Last-Event-ID` resumption. */
  readonly eventStoreLimits: EventStoreLimits
  /** When the standalone GET stream is ended, for the client to open it again past the proxy. */
  readonly streamMaxAgeMs: number
  /** Client capabilities stripped from `initialize` (see the catalog). */
  readonly hiddenClientCapabilities: readonly string[]
  /** Applied to every message of the child before it goes to the client (policy: tools/list). */
  readonly filterForClient?: ((message: JSONRPCMessage) => JSONRPCMessage) | undefined
  /** Mints the session's id (several replicas: one that names this replica); default a UUID. */
  readonly newSessionId?: (() => string) | undefined
  /** Called once the session has an id (the `initialize` request was accepted). */
  readonly onInitialized: (session: Session) => void
  /** Called once when the session ends, whatever ended it. */
  readonly onEnded: (session: Session) => void
  /**
   * How long the child may take to answer the client's `initialize`; past it `onStartFailed` is
   * called and the session ends (start-bound.ts). Absent: no bound.
   */
  readonly start?: { readonly timeoutMs: number; readonly onStartFailed: () => void } | undefined
}

/**
 * One MCP session of the session era (protocol 2025-03-26 … 2025-11-25): one SDK streamable-HTTP
 * server transport on the client side, one child process on the other, messages relayed as they
 * are, SSE events kept for resumption. The session belongs to the user who created it and ends
 * when the client deletes it, when it idles out, when it gives way to a new session at a cap,
 * when the bridge shuts down or when the child exits; then every request still in flight is
 * answered with a JSON-RPC error and the child is ended.
 */
export class Session {
  readonly identity: Identity
  readonly child: ChildConnection
  readonly transport: WebStandardStreamableHTTPServerTransport
  #id: string | undefined
  #lastActivity: number
  #ended = false
  /**
   * SSE streams the client is reading: POST streams (their requests' answers), the standalone GET
   * stream, and POST streams resumed by a GET with `Last-Event-ID`.
   */
  readonly #open: Record<StreamKind, number> = { post: 0, standalone: 0, resumed: 0 }
  readonly #inFlight = new InFlightRequests()
  readonly #events: SessionEventStore
  readonly #options: SessionOptions
  readonly #logger: Logger
  readonly #startBound: StartBound | undefined
  #initializeId: RequestId | undefined
  /** The revision the client's `initialize` asked for, then the one the child answered with. */
  #protocolVersion: string | undefined
  #negotiated = false

  constructor(options: SessionOptions) {
    this.#options = options
    const { start } = options
    this.#startBound =
      start &&
      new StartBound(start.timeoutMs, () => {
        start.onStartFailed()
        void this.end(`no answer to initialize within ${start.timeoutMs} ms`)
      })
    this.identity = options.identity
    this.child = options.child
    this.#logger = options.logger
    this.#lastActivity = options.now()
    this.#events = new SessionEventStore(options.eventStoreLimits)
    this.transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: options.newSessionId ?? (() => randomUUID()),
      maxRequestBodySize: options.maxRequestBodyBytes,
      eventStore: this.#events,
      onsessioninitialized: (id) => {
        this.#id = id
        options.onInitialized(this)
      },
      onsessionclosed: async () => {
        await this.end('deleted by the client')
      },
    })
    this.transport.onmessage = (message) => this.#fromClient(message)
    this.transport.onerror = (error) => this.#logger.debug({ err: error }, 'transport error')
    this.child.onmessage = (message) => this.#fromChild(message)
    void this.child.exited.then(() => this.end('the MCP server process exited'))
  }

  get id(): string | undefined {
    return this.#id
  }

  get ended(): boolean {
    return this.#ended
  }

  /**
   * The session's revision: the one the child's answer to `initialize` named, before that answer
   * the one the client asked for.
   */
  get protocolVersion(): string | undefined {
    return this.#protocolVersion
  }

  /** When the session was last used: its last request, or the end of its last stream. */
  get lastUsed(): number {
    return this.#lastActivity
  }

  /**
   * True when the last use is older than `idleMs` and nothing is in flight that a client still
   * waits for. A request whose client went away (no POST stream, no resumed stream) does not
   * count: the spec lets the child go on with it, but a call that never ends (a long tool, a
   * question nobody answers) would otherwise hold the session, its child and a place under the
   * caps until the bridge restarts. Within the idle timeout the client can still resume.
   */
  isIdle(now: number, idleMs: number): boolean {
    return !this.#awaited && now - this.#lastActivity >= idleMs
  }

  /**
   * Requests the client sent that the child has not answered, its client still listening or not:
   * what the child still has to work through (and its stdin may still hold) for this session.
   */
  get requestsInFlight(): number {
    return this.#inFlight.size
  }

  /** Whether a request with this id is in flight: JSON-RPC ids are unique among those. */
  isInFlight(id: RequestId): boolean {
    return this.#inFlight.has(id)
  }

  /** A request in flight or a stream open: the client is using the session right now. */
  get busy(): boolean {
    return this.#inFlight.size > 0 || this.#open.standalone + this.#open.resumed > 0
  }

  /** The earliest time the session can reach the idle timeout, if its client sends nothing more. */
  idleDeadline(now: number, idleMs: number): number {
    return (this.#awaited ? now : this.#lastActivity) + idleMs
  }

  /** Requests in flight with a client connected to hear their answers. */
  get #awaited(): boolean {
    return this.#inFlight.size > 0 && this.#open.post + this.#open.resumed > 0
  }

  /**
   * Ends the standalone GET stream, which would otherwise stay open until the client leaves: on
   * shutdown the listener drains only once every stream has ended. The session goes on.
   */
  endStandaloneStream(): void {
    this.transport.closeStandaloneSSEStream()
  }

  /** Serves one HTTP request of this session (POST, GET or DELETE on /mcp). */
  async handle(request: Request, parsedBody?: unknown): Promise<Response> {
    this.#lastActivity = this.#options.now()
    const lastEventId = request.method === 'GET' ? request.headers.get('last-event-id') : null
    if (lastEventId) {
      const refusal = this.#events.refusal(lastEventId)
      if (refusal !== undefined)
        return replayRefusedResponse(refusal, this.#options.eventStoreLimits)
    }
    const options = parsedBody === undefined ? undefined : { parsedBody }
    const asRead = withAcceptAsRead(request)
    const response = streamedAsWritten(await this.transport.handleRequest(asRead, options))
    if (request.method === 'POST') return this.#tracked(response, 'post')
    if (request.method !== 'GET') return response
    const standalone = !lastEventId || isStandalone(lastEventId)
    return this.#tracked(response, standalone ? 'standalone' : 'resumed')
  }

  /** Counts an SSE stream as open until it ends or the client goes away. */
  #tracked(response: Response, kind: StreamKind): Response {
    const type = response.headers.get('content-type') ?? ''
    if (!response.body || !type.startsWith('text/event-stream')) return response
    this.#open[kind] += 1
    const aged =
      kind === 'standalone'
        ? setTimeout(() => this.endStandaloneStream(), this.#options.streamMaxAgeMs).unref()
        : undefined
    const body = onEnd(response.body, () => {
      clearTimeout(aged)
      this.#open[kind] -= 1
      this.#lastActivity = this.#options.now()
    })
    return new Response(body, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    })
  }

  /**
   * Ends the session: answers what is in flight with an error, closes the HTTP streams and ends
   * the child. Safe to call more than once.
   */
  async end(reason: string): Promise<void> {
    if (this.#ended) return
    this.#ended = true
    this.#startBound?.stop()
    this.#logger.info({ reason, pid: this.child.pid }, 'session ended')
    for (const id of this.#inFlight.ids()) {
      await this.#sendToClient(childGoneError(id, reason))
    }
    await this.transport.close()
    this.#options.onEnded(this)
    await this.child.close()
  }

  #fromClient(message: JSONRPCMessage): void {
    this.#lastActivity = this.#options.now()
    this.#startBound?.fromClient(message)
    if (this.#initializeId === undefined && isInitializeRequest(message) && 'id' in message) {
      this.#initializeId = message.id as RequestId
      this.#protocolVersion = message.params.protocolVersion
    }
    if (isJSONRPCRequest(message)) {
      this.#inFlight.add(message)
    } else if (isJSONRPCResultResponse(message) || isJSONRPCErrorResponse(message)) {
      if (message.id !== undefined) this.#inFlight.clientAnswered(message.id)
    } else if (isCancellation(message)) {
      const params = (message as { params?: { requestId?: RequestId } }).params
      if (params?.requestId !== undefined) this.#inFlight.delete(params.requestId)
    }
    const forwarded = withCapabilitiesHidden(message, this.#options.hiddenClientCapabilities)
    if (forwarded === undefined) return
    this.child.send(forwarded).catch(async () => {
      // The process gone (its exit ends the session and says so) or a message it cannot be
      // given (one nested past what serialising allows): this request failed, not the session.
      if (isJSONRPCRequest(message)) {
        this.#inFlight.delete(message.id)
        await this.#sendToClient({
          jsonrpc: '2.0',
          id: message.id,
          error: { code: INTERNAL_ERROR, message: UNDELIVERED },
        })
      }
    })
  }

  #fromChild(received: JSONRPCMessage): void {
    this.#startBound?.fromChild(received)
    if (
      !this.#negotiated &&
      isJSONRPCResultResponse(received) &&
      received.id === this.#initializeId
    ) {
      this.#negotiated = true
      const version = received.result.protocolVersion
      if (typeof version === 'string') this.#protocolVersion = version
    }
    const message = this.#options.filterForClient?.(received) ?? received
    if (isJSONRPCResultResponse(message) || isJSONRPCErrorResponse(message)) {
      if (message.id !== undefined) this.#inFlight.delete(message.id)
      this.#lastActivity = this.#options.now()
      void this.#sendToClient(message)
      return
    }
    const related = this.#inFlight.relatedRequestFor(message, this.#open.standalone > 0)
    void this.#sendToClient(message, related)
  }

  async #sendToClient(message: JSONRPCMessage, relatedRequestId?: RequestId): Promise<void> {
    try {
      await this.transport.send(
        message,
        relatedRequestId === undefined ? undefined : { relatedRequestId }
      )
    } catch (error) {
      // The client's stream for that request is gone (it disconnected); nothing to deliver to.
      this.#logger.debug({ err: error }, 'message for a closed stream dropped')
    }
  }
}

function isCancellation(message: JSONRPCMessage): boolean {
  return 'method' in message && !('id' in message) && message.method === 'notifications/cancelled'
}

/** The standalone GET stream's id in the SDK transport, as event ids carry it. */
function isStandalone(eventId: string): boolean {
  return eventId.startsWith('_GET_stream/')
}
