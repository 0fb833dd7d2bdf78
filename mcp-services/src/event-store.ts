import type {
  EventId,
  EventStore,
  StreamId,
} from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js'
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js'
import { jsonRpcErrorResponse, SERVER_ERROR } from './json-rpc-error.ts'

export interface EventStoreLimits {
  /** Events kept per session; the oldest go first. */
  readonly maxEvents: number
  /** Bytes of JSON kept per session; the oldest events go first, a larger one is not kept. */
  readonly maxBytes: number
}

interface StoredEvent {
  readonly sequence: number
  readonly streamId: StreamId
  /** The message as JSON; empty for a priming event, which only hands out an id. */
  readonly json: string
  readonly bytes: number
}

/** Why a `Last-Event-ID` cannot be resumed from. */
export type ReplayRefusal = 'unknown' | 'expired'

/**
 * The SSE events of one session, kept for resumption (`Last-Event-ID`, MCP streamable HTTP):
 * every message the transport sends on a stream, up to a count and a size, oldest dropped first.
 * Event ids are `<streamId>/<sequence>`, the sequence counting per session, so an id says which
 * stream it belongs to even after the event itself is gone.
 *
 * A resumption is served only when every event after the given id is still held: a stream
 * replayed with a hole in it would lose a response for good, a refused one makes the client
 * start over.
 */
export class SessionEventStore implements EventStore {
  readonly #limits: EventStoreLimits
  #events: StoredEvent[] = []
  /** Index of the oldest event still held. */
  #head = 0
  #bytes = 0
  #next = 1
  /** Every event below this sequence has been dropped. */
  #heldFrom = 1
  /** The stream of the newest dropped event, the last one a resumption may still start after. */
  #lastDroppedStreamId: StreamId | undefined

  constructor(limits: EventStoreLimits) {
    this.#limits = limits
  }

  async storeEvent(streamId: StreamId, message: JSONRPCMessage): Promise<EventId> {
    const sequence = this.#next++
    const json = 'jsonrpc' in message ? JSON.stringify(message) : ''
    const bytes = Buffer.byteLength(json) + streamId.length
    this.#events.push({ sequence, streamId, json, bytes })
    this.#bytes += bytes
    this.#trim()
    return `${streamId}/${sequence}`
  }

  async getStreamIdForEventId(eventId: EventId): Promise<StreamId | undefined> {
    const parsed = this.#parse(eventId)
    return parsed && this.refusal(eventId) === undefined ? parsed.streamId : undefined
  }

  /** Undefined when events after `eventId` can be replayed in full, else why not. */
  refusal(eventId: EventId): ReplayRefusal | undefined {
    const parsed = this.#parse(eventId)
    if (!parsed) return 'unknown'
    return parsed.sequence + 1 < this.#heldFrom ? 'expired' : undefined
  }

  async replayEventsAfter(
    lastEventId: EventId,
    { send }: { send: (eventId: EventId, message: JSONRPCMessage) => Promise<void> }
  ): Promise<StreamId> {
    const parsed = this.#parse(lastEventId)
    if (!parsed || this.refusal(lastEventId) !== undefined) {
      throw new Error('events after this Last-Event-ID are no longer held')
    }
    // Copied first: sending may store new events while this loop runs.
    const after = this.#events
      .slice(this.#head)
      .filter((event) => event.streamId === parsed.streamId && event.sequence > parsed.sequence)
    for (const event of after) {
      if (event.json === '') continue
      await send(`${event.streamId}/${event.sequence}`, JSON.parse(event.json) as JSONRPCMessage)
    }
    return parsed.streamId
  }

  #trim(): void {
    const { maxEvents, maxBytes } = this.#limits
    while (
      this.#head < this.#events.length &&
      (this.#events.length - this.#head > maxEvents || this.#bytes > maxBytes)
    ) {
      const dropped = this.#events[this.#head++] as StoredEvent
      this.#bytes -= dropped.bytes
      this.#heldFrom = dropped.sequence + 1
      this.#lastDroppedStreamId = dropped.streamId
    }
    // Dropped events are cut off in one go once they are half the array, not one by one.
    if (this.#head > 64 && this.#head * 2 > this.#events.length) {
      this.#events = this.#events.slice(this.#head)
      this.#head = 0
    }
  }

  #parse(eventId: EventId): { streamId: StreamId; sequence: number } | undefined {
    const slash = eventId.lastIndexOf('/')
    if (slash <= 0) return undefined
    const sequence = Number(eventId.slice(slash + 1))
    if (!Number.isSafeInteger(sequence) || sequence < 1 || sequence >= this.#next) return undefined
    const streamId = eventId.slice(0, slash)
    // The id must be one this session handed out: the event's own stream, where it is still
    // known (held events sit in sequence order from `#heldFrom`).
    const known =
      sequence >= this.#heldFrom
        ? this.#events[this.#head + sequence - this.#heldFrom]?.streamId
        : sequence === this.#heldFrom - 1
          ? this.#lastDroppedStreamId
          : streamId
    return known === streamId ? { streamId, sequence } : undefined
  }
}

/** The answer to a GET whose `Last-Event-ID` cannot be replayed from here. */
export function replayRefusedResponse(refusal: ReplayRefusal, limits: EventStoreLimits): Response {
  const message =
    refusal === 'unknown'
      ? 'Bad Request: unknown Last-Event-ID'
      : `Bad Request: the events after this Last-Event-ID are no longer kept (a session keeps its last ${limits.maxEvents} events, at most ${limits.maxBytes} bytes)`
  return jsonRpcErrorResponse(400, SERVER_ERROR, message)
}
