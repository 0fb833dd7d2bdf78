import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js'
import type { ChildConnection } from './child-process.ts'
import { Exchange, type ExchangeEvent } from './exchange.ts'
import { UNDELIVERED } from './json-rpc-error.ts'
import {
  CHILD_PROTOCOL_VERSION,
  INTERNAL_ERROR,
  isObject,
  type JsonObject,
  mcpNameOf,
} from './modern-protocol.ts'

/** How long a call whose client left counts towards ending its child (`PooledChild.abandon`). */
export const ABANDONED_WINDOW_MS = 60_000

export type NotificationListener = (notification: { method: string; params?: unknown }) => void

/**
 * A session-era stdio child serving stateless requests for one user through one client:
 * initialized once by the bridge (with the client capabilities the bridge can relay as input
 * requests), then each request forwarded as a plain JSON-RPC request.
 */
export class PooledChild {
  readonly key: string
  /** The user it serves, whose cap of children it counts against. */
  readonly userId: string
  readonly child: ChildConnection
  initializeResult: JsonObject = {}
  lastUsed: number
  #exchanges = new Map<string, Exchange>()
  /**
   * Calls whose client left in the last `ABANDONED_WINDOW_MS`, by when: cancelled, but a tool
   * that ignores cancellation goes on working while its user's place is free again (`abandon`).
   * Kept for a while rather than until answered: a server does not answer a cancelled request.
   */
  readonly #abandoned = new Map<string, number>()
  readonly #abandonedAtMost: number
  readonly #now: () => number
  /** Calls waiting for the client's retry with input responses, by `requestState`. */
  readonly suspended = new Map<string, Exchange>()
  readonly listeners = new Set<NotificationListener>()
  readonly #streamsEnded = new AbortController()
  /** Starts every `requestState` it mints: names this replica (owner-routing.ts), or empty. */
  readonly statePrefix: string

  constructor(
    key: string,
    userId: string,
    child: ChildConnection,
    now: number,
    options: {
      /** Starts every `requestState` it mints (owner-routing.ts), or empty. */
      readonly statePrefix?: string
      /** Calls left by their clients within `ABANDONED_WINDOW_MS` at which the child is ended. */
      readonly abandonedAtMost: number
      readonly now: () => number
    }
  ) {
    this.key = key
    this.userId = userId
    this.statePrefix = options.statePrefix ?? ''
    this.#abandonedAtMost = options.abandonedAtMost
    this.#now = options.now
    this.child = child
    this.lastUsed = now
    child.onmessage = (message) => this.#fromChild(message)
    void child.exited.then(() => {
      for (const exchange of this.#exchanges.values()) {
        exchange.push({
          kind: 'answer',
          error: { code: INTERNAL_ERROR, message: 'The MCP server process ended' },
        })
      }
      this.#exchanges.clear()
      this.#abandoned.clear()
    })
  }

  /**
   * The `initialize` handshake, once, before the child serves anything. Bounded: a child stuck
   * at start would otherwise hold its user's requests and a place in the pool for ever.
   */
  async initialize(clientCapabilities: JsonObject, timeoutMs: number): Promise<void> {
    const exchange = this.forward('initialize', {
      protocolVersion: CHILD_PROTOCOL_VERSION,
      capabilities: clientCapabilities,
      clientInfo: { name: 'mcp-gateway-bridge', version: '1.0.0' },
    })
    const timedOut = new AbortController()
    const late: ExchangeEvent = {
      kind: 'answer',
      error: { message: `none within ${timeoutMs} ms` },
    }
    const event = await Promise.race([
      exchange.next(),
      sleep(timeoutMs, late, { signal: timedOut.signal }),
    ]).finally(() => timedOut.abort())
    if (event.kind !== 'answer' || !event.result) {
      throw new Error(`the MCP server refused initialize: ${JSON.stringify(event)}`)
    }
    this.initializeResult = event.result
    await this.child.send({ jsonrpc: '2.0', method: 'notifications/initialized' })
  }

  get inFlight(): number {
    return this.#exchanges.size + this.suspended.size
  }

  isIdle(now: number, idleTimeoutMs: number): boolean {
    return this.inFlight === 0 && this.listeners.size === 0 && now - this.lastUsed >= idleTimeoutMs
  }

  /** Sends a request to the child; its answer (and requests of the child's) come on the exchange. */
  forward(method: string, params: JsonObject | undefined): Exchange {
    const meta = isObject(params?._meta) ? params._meta : {}
    const token = meta.progressToken
    const progressToken = typeof token === 'string' || typeof token === 'number' ? token : undefined
    const name = mcpNameOf(method, params)
    const exchange = new Exchange(`bridge-${randomUUID()}`, method, name, progressToken)
    this.#exchanges.set(exchange.childId, exchange)
    const message = { jsonrpc: '2.0', id: exchange.childId, method, ...(params ? { params } : {}) }
    this.child.send(message as JSONRPCMessage).catch(() => {
      this.#exchanges.delete(exchange.childId)
      exchange.push({ kind: 'answer', error: { code: INTERNAL_ERROR, message: UNDELIVERED } })
    })
    return exchange
  }

  /**
   * Gives up on an exchange: the child is told to cancel it, and whoever waits on the exchange
   * gets an end, since the child's answer can no longer reach it. Waiting for ever, a request
   * would keep its place among its user's requests in hand, and its body, for good.
   */
  abandon(exchange: Exchange, reason: string): void {
    if (!this.#exchanges.delete(exchange.childId)) return
    exchange.push({
      kind: 'answer',
      error: { code: INTERNAL_ERROR, message: `Cancelled: ${reason}` },
    })
    void this.send({
      jsonrpc: '2.0',
      method: 'notifications/cancelled',
      params: { requestId: exchange.childId, reason },
    })
    const now = this.#now()
    for (const [id, at] of this.#abandoned) {
      if (now - at < ABANDONED_WINDOW_MS) break
      this.#abandoned.delete(id)
    }
    this.#abandoned.set(exchange.childId, now)
    // Calling and leaving, again and again, would otherwise pile up work in a child whose tools
    // ignore cancellation: as many calls left within the window as the user may have in hand
    // at once, and the child and all that work end.
    if (this.#abandoned.size >= this.#abandonedAtMost && !this.child.hasExited) {
      this.onOverworked?.(this.#abandoned.size)
      void this.close()
    }
  }

  /**
   * Told when the child is ended for the calls nobody waits for (how many), before it is: the
   * pool takes it out of reach of requests, and logs it.
   */
  onOverworked: ((abandoned: number) => void) | undefined

  send(message: JsonObject): Promise<void> {
    return this.child.send(message as JSONRPCMessage).catch(() => {})
  }

  #fromChild(message: JSONRPCMessage): void {
    const raw = message as JsonObject
    const id = raw.id
    if ('method' in raw && typeof raw.method === 'string') {
      if (typeof id === 'string' || typeof id === 'number') {
        this.#childRequest(id, raw.method, raw.params)
        return
      }
      const token = isObject(raw.params) ? raw.params.progressToken : undefined
      if (token !== undefined) {
        const owner = [...this.#exchanges.values()].find((each) => each.progressToken === token)
        owner?.push({ kind: 'notification', method: raw.method, params: raw.params })
        return
      }
      for (const listener of this.listeners) listener({ method: raw.method, params: raw.params })
      return
    }
    if (typeof id !== 'string') return
    const exchange = this.#exchanges.get(id)
    if (!exchange) {
      this.#abandoned.delete(id)
      return
    }
    this.#exchanges.delete(id)
    exchange.push({
      kind: 'answer',
      ...(isObject(raw.result) ? { result: raw.result } : {}),
      ...(isObject(raw.error) ? { error: raw.error } : {}),
    })
  }

  /** A request of the child's goes with the most recent exchange that can make it talk back. */
  #childRequest(id: string | number, method: string, params: unknown): void {
    if (method === 'ping') {
      void this.send({ jsonrpc: '2.0', id, result: {} })
      return
    }
    const owner = [...this.#exchanges.values()]
      .reverse()
      .find(
        (exchange) => !['tools/list', 'prompts/list', 'resources/list'].includes(exchange.method)
      )
    if (!owner) {
      void this.send({
        jsonrpc: '2.0',
        id,
        error: { code: INTERNAL_ERROR, message: 'No client request is in flight to carry this' },
      })
      return
    }
    owner.push({ kind: 'child-request', id, method, params })
  }

  /** Aborted when the `subscriptions/listen` streams on this child are to end (shutdown). */
  get streamsEnded(): AbortSignal {
    return this.#streamsEnded.signal
  }

  /** Ends the `subscriptions/listen` streams, which never end by themselves; calls go on. */
  endStreams(): void {
    this.#streamsEnded.abort()
  }

  /** Ends the child; pending exchanges are answered with an error. */
  async close(): Promise<void> {
    this.suspended.clear()
    await this.child.close()
  }
}
