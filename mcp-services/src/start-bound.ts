import {
  isInitializeRequest,
  type JSONRPCMessage,
  type RequestId,
} from '@modelcontextprotocol/sdk/types.js'

/**
 * The bound on a session's start: the child must answer the client's `initialize` within the
 * bound, or `onTimeout` runs once (the session ends, and its user's crash budget is spent, as
 * for a pooled child stuck at start). Without it a server stuck at start would cost a process
 * per attempt, each left until the idle timeout.
 */
export class StartBound {
  readonly #timeoutMs: number
  readonly #onTimeout: () => void
  #initializeId: RequestId | undefined
  #timer: NodeJS.Timeout | undefined
  #settled = false

  constructor(timeoutMs: number, onTimeout: () => void) {
    this.#timeoutMs = timeoutMs
    this.#onTimeout = onTimeout
  }

  /** A message of the client: its first `initialize` starts the clock. */
  fromClient(message: JSONRPCMessage): void {
    if (this.#settled || this.#timer || !isInitializeRequest(message) || !('id' in message)) return
    this.#initializeId = message.id as RequestId
    this.#timer = setTimeout(() => {
      this.#settled = true
      this.#onTimeout()
    }, this.#timeoutMs)
    this.#timer.unref()
  }

  /** A message of the child: its answer to that `initialize`, result or error, stops the clock. */
  fromChild(message: JSONRPCMessage): void {
    if (this.#initializeId === undefined || 'method' in message) return
    if ('id' in message && message.id === this.#initializeId) this.stop()
  }

  /** Stops the clock for good (answered, or the session ended). */
  stop(): void {
    this.#settled = true
    clearTimeout(this.#timer)
  }
}
