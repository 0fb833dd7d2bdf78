import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js'

/**
 * Which client request a message from the child belongs with. Over stdio the child does not say
 * which request a notification or a server-to-client request relates to, but the HTTP side must
 * put it on a stream: the POST stream of the related request, else the standalone GET stream.
 *
 * The rule: a progress notification goes with the request that carried its `progressToken`;
 * anything else the child sends while requests are in flight goes with the most recent one
 * (a tool that asks for sampling or elicitation does so while its call is open, and a client
 * always listens on its open POST streams, whereas a GET stream is optional); with nothing in
 * flight it goes to the GET stream.
 */
export class InFlightRequests {
  readonly #requests = new Map<RequestId, string | number | undefined>()
  readonly #progress = new Map<string | number, RequestId>()

  get size(): number {
    return this.#requests.size
  }

  ids(): RequestId[] {
    return [...this.#requests.keys()]
  }

  /** Records a client request on its way to the child. */
  add(id: RequestId, progressToken: string | number | undefined): void {
    this.#requests.set(id, progressToken)
    if (progressToken !== undefined) this.#progress.set(progressToken, id)
  }

  /** Forgets a request once answered (or cancelled by the client). */
  delete(id: RequestId): void {
    const token = this.#requests.get(id)
    this.#requests.delete(id)
    if (token !== undefined) this.#progress.delete(token)
  }

  /** The client request a child-initiated message relates to, or undefined for the GET stream. */
  relatedRequestFor(message: JSONRPCMessage): RequestId | undefined {
    if ('method' in message && message.method === 'notifications/progress') {
      const token = (message.params as { progressToken?: unknown } | undefined)?.progressToken
      if (typeof token === 'string' || typeof token === 'number') {
        const owner = this.#progress.get(token)
        if (owner !== undefined) return owner
      }
    }
    let latest: RequestId | undefined
    for (const id of this.#requests.keys()) latest = id
    return latest
  }
}

/** The `_meta.progressToken` of a request's params, if it has one. */
export function progressTokenOf(params: unknown): string | number | undefined {
  const meta = (params as { _meta?: { progressToken?: unknown } } | undefined)?._meta
  const token = meta?.progressToken
  return typeof token === 'string' || typeof token === 'number' ? token : undefined
}
