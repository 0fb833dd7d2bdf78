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
    headers: { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' },
  })
}
