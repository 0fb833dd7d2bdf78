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
import type { ChildConnection } from './child-process.ts'
import type { Identity } from './identity.ts'
import { InFlightRequests, progressTokenOf } from './message-routing.ts'

/** JSON-RPC error code sent for requests a child can no longer answer (implementation range). */
export const CHILD_EXITED_CODE = -32003

export interface SessionOptions {
  readonly identity: Identity
  readonly child: ChildConnection
  readonly logger: Logger
  readonly now: () => number
  readonly maxRequestBodyBytes: number
  /** Client capabilities stripped from `initialize` (see the catalog). */
  readonly hiddenClientCapabilities: readonly string[]
  /** Called once the session has an id (the `initialize` request was accepted). */
  readonly onInitialized: (session: Session) => void
  /** Called once when the session ends, whatever ended it. */
  readonly onEnded: (session: Session) => void
}

/**
 * One MCP session of the session era (protocol 2025-03-26 … 2025-11-25): one SDK streamable-HTTP
 * server transport on the client side, one child process on the other, messages relayed as they
 * are. The session belongs to the user who created it and ends when the client deletes it, when it
 * idles out, when the bridge shuts down or when the child exits; then every request still in
 * flight is answered with a JSON-RPC error and the child is ended.
 */
export class Session {
  readonly identity: Identity
  readonly child: ChildConnection
  readonly transport: WebStandardStreamableHTTPServerTransport
  #id: string | undefined
  #lastActivity: number
  #ended = false
  readonly #inFlight = new InFlightRequests()
  readonly #options: SessionOptions
  readonly #logger: Logger

  constructor(options: SessionOptions) {
    this.#options = options
    this.identity = options.identity
    this.child = options.child
    this.#logger = options.logger
    this.#lastActivity = options.now()
    this.transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      maxRequestBodySize: options.maxRequestBodyBytes,
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

  /** True when nothing is in flight and the last request is older than `idleMs`. */
  isIdle(now: number, idleMs: number): boolean {
    return this.#inFlight.size === 0 && now - this.#lastActivity >= idleMs
  }

  /** Serves one HTTP request of this session (POST, GET or DELETE on /mcp). */
  async handle(request: Request, parsedBody?: unknown): Promise<Response> {
    this.#lastActivity = this.#options.now()
    const options = parsedBody === undefined ? undefined : { parsedBody }
    return this.transport.handleRequest(request, options)
  }

  /**
   * Ends the session: answers what is in flight with an error, closes the HTTP streams and ends
   * the child. Safe to call more than once.
   */
  async end(reason: string): Promise<void> {
    if (this.#ended) return
    this.#ended = true
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
    if (isJSONRPCRequest(message)) {
      this.#inFlight.add(message.id, progressTokenOf(message.params))
    } else if (isCancellation(message)) {
      const params = (message as { params?: { requestId?: RequestId } }).params
      if (params?.requestId !== undefined) this.#inFlight.delete(params.requestId)
    }
    const forwarded = this.#filterForChild(message)
    if (forwarded === undefined) return
    this.child.send(forwarded).catch(async (error: unknown) => {
      this.#logger.warn({ err: error }, 'could not write to the MCP server process')
      if (isJSONRPCRequest(message)) {
        this.#inFlight.delete(message.id)
        await this.#sendToClient(childGoneError(message.id, 'the MCP server process is gone'))
      }
    })
  }

  /** Applies the catalog's capability hiding; undefined drops the message. */
  #filterForChild(message: JSONRPCMessage): JSONRPCMessage | undefined {
    const hidden = this.#options.hiddenClientCapabilities
    if (hidden.length === 0) return message
    if (isInitializeRequest(message)) {
      const params = message.params as { capabilities?: Record<string, unknown> }
      const capabilities = { ...params.capabilities }
      for (const name of hidden) delete capabilities[name]
      return { ...message, params: { ...params, capabilities } } as JSONRPCMessage
    }
    if (
      'method' in message &&
      hidden.includes('roots') &&
      message.method.startsWith('notifications/roots/')
    ) {
      return undefined
    }
    return message
  }

  #fromChild(message: JSONRPCMessage): void {
    if (isJSONRPCResultResponse(message) || isJSONRPCErrorResponse(message)) {
      if (message.id !== undefined) this.#inFlight.delete(message.id)
      void this.#sendToClient(message)
      return
    }
    const related = this.#inFlight.relatedRequestFor(message)
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

function childGoneError(id: RequestId, reason: string): JSONRPCMessage {
  return {
    jsonrpc: '2.0',
    id,
    error: { code: CHILD_EXITED_CODE, message: `Session ended: ${reason}` },
  }
}
