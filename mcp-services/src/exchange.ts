import { setTimeout as sleep } from 'node:timers/promises'
import type { JsonObject } from './modern-protocol.ts'

/** What a forwarded request came to: the child's answer, a request of the child's, progress. */
export type ExchangeEvent =
  | { readonly kind: 'answer'; readonly result?: JsonObject; readonly error?: JsonObject }
  | {
      readonly kind: 'child-request'
      readonly id: string | number
      readonly method: string
      readonly params: unknown
    }
  | { readonly kind: 'notification'; readonly method: string; readonly params: unknown }

/** A request of the child's to the client, waiting for the client's input response. */
export interface ChildRequest {
  readonly id: string | number
  readonly method: string
  readonly params: unknown
}

/**
 * One request forwarded to a pooled child, under an id of the bridge's (clients' ids may clash),
 * until the child answers it. Requests the child sends while it is the only exchange in flight
 * that can make a server talk back are its (over stdio the child does not say which request
 * they relate to).
 */
export class Exchange {
  readonly childId: string
  readonly method: string
  /** What the request names (the tool, prompt or resource its `Mcp-Name` mirrors). */
  readonly name: string | undefined
  /** The request's `_meta.progressToken`: the child's progress for it goes with it. */
  readonly progressToken: string | number | undefined
  /** Input responses the client sent that no request of the child's has used yet, by key. */
  readonly answers = new Map<string, unknown>()
  /** The child's requests the client has been asked to answer (input requests), by key. */
  readonly waiting = new Map<string, ChildRequest>()
  #events: ExchangeEvent[] = []
  #waiter: ((event: ExchangeEvent) => void) | undefined

  constructor(
    childId: string,
    method: string,
    name: string | undefined,
    progressToken: string | number | undefined
  ) {
    this.childId = childId
    this.method = method
    this.name = name
    this.progressToken = progressToken
  }

  push(event: ExchangeEvent): void {
    const waiter = this.#waiter
    if (waiter) {
      this.#waiter = undefined
      waiter(event)
    } else this.#events.push(event)
  }

  next(): Promise<ExchangeEvent> {
    const queued = this.#events.shift()
    if (queued) return Promise.resolve(queued)
    return new Promise((resolve) => {
      this.#waiter = resolve
    })
  }

  /** The events queued now or arriving within `ms`, without waiting for one more. */
  async collect(ms: number): Promise<ExchangeEvent[]> {
    await sleep(ms)
    // After the loop was busy past `ms`, its timer runs before the child's output already waiting
    // on the pipe is read: one turn for that I/O (the check phase follows the poll phase).
    await new Promise<void>((resolve) => setImmediate(resolve))
    return this.#events.splice(0)
  }
}
