import type { JsonObject } from './modern-protocol.ts'

/**
 * A `text/event-stream` response whose messages `start` writes; `close` ends it, and a client
 * going away ends it as well (writes after that are dropped).
 */
export function sseResponse(
  start: (write: (message: JsonObject) => void, close: () => void) => void,
  onCancel: () => void = () => {}
): Response {
  const encoder = new TextEncoder()
  let open = true
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      const write = (message: JsonObject) => {
        if (!open) return
        controller.enqueue(encoder.encode(`event: message\ndata: ${JSON.stringify(message)}\n\n`))
      }
      const close = () => {
        if (!open) return
        open = false
        controller.close()
      }
      start(write, close)
    },
    cancel() {
      open = false
      onCancel()
    },
  })
  return new Response(stream, {
    // As the session era's streams: a buffering proxy (nginx) would hold events back otherwise.
    headers: {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-cache',
      'X-Accel-Buffering': 'no',
    },
  })
}

/**
 * Marks an SSE response as chunked. Without the header the Node adapter (`@hono/node-server`)
 * holds a streamed body for a timer tick (1-2 ms) when its second chunk is not ready at once,
 * hoping to send it whole with a Content-Length; a POST stream's priming event is always alone at
 * first, so every call's answer waited for that timer. Node sends the same chunked encoding
 * either way (Hono's own streaming helpers set the header for this reason).
 */
export function streamedAsWritten(response: Response): Response {
  if (response.headers.get('content-type')?.startsWith('text/event-stream')) {
    response.headers.set('Transfer-Encoding', 'chunked')
  }
  return response
}

/** Passes a stream through and calls `ended` once when it ends, fails or is cancelled. */
export function onEnd(
  source: ReadableStream<Uint8Array>,
  ended: () => void
): ReadableStream<Uint8Array> {
  const reader = source.getReader()
  let done = false
  const finish = () => {
    if (done) return
    done = true
    ended()
  }
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const chunk = await reader.read()
        if (chunk.done) {
          finish()
          controller.close()
        } else {
          controller.enqueue(chunk.value)
        }
      } catch (error) {
        finish()
        controller.error(error)
      }
    },
    async cancel(reason) {
      finish()
      await reader.cancel(reason)
    },
  })
}
