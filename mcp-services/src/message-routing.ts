import {
  isJSONRPCRequest,
  type JSONRPCMessage,
  type JSONRPCRequest,
  type RequestId,
} from '@modelcontextprotocol/sdk/types.js'

type Token = string | number

/** Requests whose handling never makes a server talk back before it answers. */
const QUIET_METHODS = new Set([
  'initialize',
  'ping',
  'tools/list',
  'prompts/list',
  'resources/list',
  'resources/templates/list',
  'resources/subscribe',
  'resources/unsubscribe',
  'logging/setLevel',
  'tasks/get',
  'tasks/list',
  'tasks/cancel',
])

/** `_meta` key by which a server ties a message to a task (protocol 2025-11-25). */
const RELATED_TASK = 'io.modelcontextprotocol/related-task'

interface Pending {
  readonly method: string
  readonly progressToken: Token | undefined
  /** `params.taskId` of a `tasks/*` request. */
  readonly taskId: string | undefined
  /** When the child last said something tied to this request by a link (0: never). */
  heard: number
}

interface ChildRequest {
  readonly owner: RequestId
  readonly linked: boolean
}

/**
 * Which client request a message from the child belongs with. Over stdio the child does not say
 * which request a notification or a server-to-client request relates to, but the HTTP side must
 * put it on a stream: the POST stream of the related request, else the standalone GET stream.
 *
 * The rule, first match wins:
 * 1. a link the message carries: a progress notification goes with the request that carried its
 *    `progressToken`; a message tagged with a task (`_meta` related-task) with the request in
 *    flight about that task (`tasks/result`); the child's cancellation of one of its own requests
 *    and the completion of a URL elicitation with the request the original went with;
 * 2. a notification about the session as a whole (`…/list_changed`, `resources/updated`) goes to
 *    the GET stream when the client has one open;
 * 3. else the request the child is serving at that moment, as far as the bridge can tell: among
 *    the requests in flight that can make a server talk back (not `ping`, lists, …), the one the
 *    child last said something linked about (a progress notification, or an answer the client
 *    gave to a request of the child's that went with it); none heard of, the most recent one;
 * 4. with none of those, the most recent request in flight (a client always listens on its open
 *    POST streams, whereas a GET stream is optional), and with nothing in flight the GET stream.
 *
 * Rule 3 is an inference: two calls in flight that both talk back without any link cannot be
 * told apart from the outside of the child.
 */
export class InFlightRequests {
  readonly #requests = new Map<RequestId, Pending>()
  readonly #progress = new Map<Token, RequestId>()
  /** The child's own requests the client has not answered yet, keyed by the child's ids. */
  readonly #childRequests = new Map<RequestId, ChildRequest>()
  /** URL-mode elicitations the child started, by `elicitationId`. */
  readonly #elicitations = new Map<string, RequestId>()
  #clock = 0

  get size(): number {
    return this.#requests.size
  }

  has(id: RequestId): boolean {
    return this.#requests.has(id)
  }

  ids(): RequestId[] {
    return [...this.#requests.keys()]
  }

  /** Records a client request on its way to the child. */
  add(request: JSONRPCRequest): void {
    const params = request.params as { _meta?: { progressToken?: unknown }; taskId?: unknown }
    const progressToken = tokenOf(params?._meta?.progressToken)
    const taskId = typeof params?.taskId === 'string' ? params.taskId : undefined
    this.#requests.set(request.id, { method: request.method, progressToken, taskId, heard: 0 })
    if (progressToken !== undefined) this.#progress.set(progressToken, request.id)
  }

  /** Forgets a request once answered (or cancelled by the client), with what hung on it. */
  delete(id: RequestId): void {
    const pending = this.#requests.get(id)
    if (!pending) return
    this.#requests.delete(id)
    if (pending.progressToken !== undefined) this.#progress.delete(pending.progressToken)
    for (const [childId, child] of this.#childRequests) {
      if (child.owner === id) this.#childRequests.delete(childId)
    }
    for (const [elicitationId, owner] of this.#elicitations) {
      if (owner === id) this.#elicitations.delete(elicitationId)
    }
  }

  /** The client answered one of the child's requests: the child goes on with what it serves. */
  clientAnswered(childRequestId: RequestId): void {
    const child = this.#childRequests.get(childRequestId)
    if (!child) return
    this.#childRequests.delete(childRequestId)
    if (child.linked) this.#hear(child.owner)
  }

  /**
   * The client request a child-initiated message relates to, or undefined for the GET stream.
   * `standaloneStreamOpen`: whether the client holds a GET stream open now.
   */
  relatedRequestFor(message: JSONRPCMessage, standaloneStreamOpen: boolean): RequestId | undefined {
    const linked = this.#linkedRequest(message)
    if (linked !== undefined) {
      this.#hear(linked)
      this.#remember(message, linked, true)
      return linked
    }
    if (standaloneStreamOpen && isSessionWide(message)) return undefined
    const guessed = this.#servingNow()
    if (guessed !== undefined) this.#remember(message, guessed, false)
    return guessed
  }

  #linkedRequest(message: JSONRPCMessage): RequestId | undefined {
    if (!('method' in message)) return undefined
    const params = message.params as Record<string, unknown> | undefined
    let owner: RequestId | undefined
    if (message.method === 'notifications/progress') {
      const token = tokenOf(params?.progressToken)
      owner = token === undefined ? undefined : this.#progress.get(token)
    } else if (message.method === 'notifications/cancelled' && !('id' in message)) {
      const requestId = params?.requestId
      if (typeof requestId === 'string' || typeof requestId === 'number') {
        owner = this.#childRequests.get(requestId)?.owner
        this.#childRequests.delete(requestId)
      }
    } else if (message.method === 'notifications/elicitation/complete') {
      const elicitationId = params?.elicitationId
      if (typeof elicitationId === 'string') owner = this.#elicitations.get(elicitationId)
    }
    return owner ?? this.#taskRequest(params)
  }

  /** The most recent request in flight about the task the message is tagged with. */
  #taskRequest(params: Record<string, unknown> | undefined): RequestId | undefined {
    const meta = params?._meta as Record<string, { taskId?: unknown } | undefined> | undefined
    const taskId = meta?.[RELATED_TASK]?.taskId
    if (typeof taskId !== 'string') return undefined
    let found: RequestId | undefined
    for (const [id, pending] of this.#requests) if (pending.taskId === taskId) found = id
    return found
  }

  #servingNow(): RequestId | undefined {
    let best: RequestId | undefined
    let bestHeard = -1
    let latest: RequestId | undefined
    for (const [id, pending] of this.#requests) {
      latest = id
      if (QUIET_METHODS.has(pending.method)) continue
      if (pending.heard >= bestHeard) {
        best = id
        bestHeard = pending.heard
      }
    }
    return best ?? latest
  }

  #hear(id: RequestId): void {
    const pending = this.#requests.get(id)
    if (pending) pending.heard = ++this.#clock
  }

  /** Keeps where a request of the child's went, for its answer, cancellation or completion. */
  #remember(message: JSONRPCMessage, owner: RequestId, linked: boolean): void {
    if (!isJSONRPCRequest(message)) return
    this.#childRequests.set(message.id, { owner, linked })
    const params = message.params as { mode?: unknown; elicitationId?: unknown } | undefined
    if (message.method === 'elicitation/create' && typeof params?.elicitationId === 'string') {
      this.#elicitations.set(params.elicitationId, owner)
    }
  }
}

function isSessionWide(message: JSONRPCMessage): boolean {
  if (!('method' in message) || 'id' in message) return false
  return (
    message.method.endsWith('/list_changed') || message.method === 'notifications/resources/updated'
  )
}

function tokenOf(value: unknown): Token | undefined {
  return typeof value === 'string' || typeof value === 'number' ? value : undefined
}
