import { identityHeaders } from './harness.ts'

/** One SSE event as sent: its id (if any) and its data (empty for a priming event). */
export interface SseEvent {
  readonly id: string | undefined
  readonly data: string
}

/**
 * How long a reader waits for an event before the test fails: an answer takes milliseconds on a
 * quiet machine and can take tens of seconds on two cores busy with a whole suite.
 */
const EVENT_TIMEOUT_MS = 60_000

/**
 * Reads the SSE events of one response as they arrive, for tests that must see which stream a
 * message was sent on (an SDK client merges every stream into one `onmessage`).
 */
export class SseReader {
  readonly events: SseEvent[] = []
  #ended = false
  readonly #reader: ReadableStreamDefaultReader<string>
  readonly #done: Promise<void>

  constructor(response: Response) {
    if (!response.body) throw new Error(`no body (status ${response.status})`)
    this.#reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
    this.#done = this.#read()
  }

  /** The JSON-RPC messages received so far (priming events left out). */
  get messages(): Array<Record<string, unknown>> {
    return this.events.filter((event) => event.data !== '').map((event) => JSON.parse(event.data))
  }

  get ended(): boolean {
    return this.#ended
  }

  /** Waits until a received message satisfies `test`, and returns it. */
  async waitFor(
    test: (message: Record<string, unknown>) => boolean,
    timeoutMs = EVENT_TIMEOUT_MS
  ): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = this.messages.find(test)
      if (found) return found
      if (this.#ended || Date.now() > deadline) {
        throw new Error(`no such message; got ${JSON.stringify(this.messages)}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }

  /** Waits for the first event carrying an id. */
  async firstEventId(timeoutMs = EVENT_TIMEOUT_MS): Promise<string> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = this.events.find((event) => event.id !== undefined)?.id
      if (found) return found
      if (this.#ended || Date.now() > deadline) throw new Error('no event with an id')
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }

  /** Drops the connection, as a client that goes away does. */
  async disconnect(): Promise<void> {
    await this.#reader.cancel().catch(() => {})
    await this.#done
  }

  async #read(): Promise<void> {
    let buffer = ''
    try {
      for (;;) {
        const { done, value } = await this.#reader.read()
        if (done) break
        buffer += value
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          this.#parse(buffer.slice(0, end))
          buffer = buffer.slice(end + 2)
        }
      }
    } catch {
      // cancelled or cut off: the events so far stay readable
    } finally {
      this.#ended = true
    }
  }

  #parse(block: string): void {
    let id: string | undefined
    const data: string[] = []
    for (const line of block.split('\n')) {
      if (line.startsWith('id:')) id = line.slice(3).trim()
      else if (line.startsWith('data:')) data.push(line.slice(5).trimStart())
    }
    if (id !== undefined || data.length > 0) this.events.push({ id, data: data.join('\n') })
  }
}

/** A session opened with plain HTTP requests, as the gateway would forward them. */
export interface RawSession {
  readonly sessionId: string
  /** Headers for every later request of the session. */
  readonly headers: Record<string, string>
  /** POSTs one JSON-RPC message in the session. */
  post(message: object): Promise<Response>
  /** Opens a GET stream, resuming after `lastEventId` when given. */
  get(lastEventId?: string): Promise<Response>
}

/** The headers of a POST to `/mcp` that the session era's rules take. */
export const RAW_POST_HEADERS = {
  'Content-Type': 'application/json',
  Accept: 'application/json, text/event-stream',
} as const

/** A raw `initialize` request asking for `protocolVersion`. */
export function rawInitialize(protocolVersion: string, id = 1, capabilities: object = {}) {
  return {
    jsonrpc: '2.0',
    id,
    method: 'initialize',
    params: { protocolVersion, capabilities, clientInfo: { name: 'raw', version: '0' } },
  }
}

/**
 * `initialize` + `notifications/initialized` over plain HTTP, without opening a GET stream;
 * `headers` go with every request besides the identity headers.
 */
export async function openRawSession(
  url: string,
  userId: string,
  options: {
    protocolVersion?: string
    capabilities?: object
    headers?: Record<string, string>
  } = {}
): Promise<RawSession> {
  const protocolVersion = options.protocolVersion ?? '2025-11-25'
  const base = { ...identityHeaders(userId), ...options.headers, ...RAW_POST_HEADERS }
  const response = await fetch(url, {
    method: 'POST',
    headers: base,
    body: JSON.stringify(rawInitialize(protocolVersion, 0, options.capabilities)),
  })
  const sessionId = response.headers.get('mcp-session-id')
  if (response.status !== 200 || !sessionId) {
    throw new Error(`initialize answered ${response.status}: ${await response.text()}`)
  }
  await new SseReader(response).waitFor((message) => message.id === 0)
  const headers: Record<string, string> = {
    ...base,
    'Mcp-Session-Id': sessionId,
    // The header came with 2025-06-18; a client of 2025-03-26 sends none.
    ...(protocolVersion >= '2025-06-18' ? { 'Mcp-Protocol-Version': protocolVersion } : {}),
  }
  const post = (message: object) =>
    fetch(url, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', ...message }) })
  const initialized = await post({ method: 'notifications/initialized' })
  if (initialized.status !== 202) throw new Error(`initialized answered ${initialized.status}`)
  return {
    sessionId,
    headers,
    post,
    get: (lastEventId) =>
      fetch(url, {
        headers: {
          ...headers,
          Accept: 'text/event-stream',
          ...(lastEventId === undefined ? {} : { 'Last-Event-ID': lastEventId }),
        },
      }),
  }
}
