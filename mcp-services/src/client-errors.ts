import type { Server } from 'node:http'
import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import type { ServerType } from '@hono/node-server'

/** What Node's parser refused, by its error code, as the status and words a client gets. */
const REFUSALS: Readonly<Record<string, readonly [number, string]>> = {
  HPE_HEADER_OVERFLOW: [431, 'the request line or headers are too large'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'the request took too long to arrive'],
}

/**
 * Requests Node's HTTP parser refuses before any route sees them (headers over 16 KiB, a
 * malformed request line, a request that trickles past the listener's bound) get the error shape
 * the server's endpoints answer with (`bodyFor` the words), instead of Node's bare status line
 * and empty body. The connection closes: after a parse error nothing more on it can be read.
 */
export function answerClientErrors(
  server: Server | ServerType,
  bodyFor: (status: number, description: string) => object
): void {
  const http = server as Server
  http.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    // Gone, or in the middle of an answer (Node's own handler asks the same of the response it
    // keeps on the socket): nothing can be said any more.
    const answering = (socket as Socket & { _httpMessage?: { headersSent: boolean } | null })
      ._httpMessage
    if (error.code === 'ECONNRESET' || !socket.writable || answering?.headersSent) {
      socket.destroy()
      return
    }
    const [status, description] = REFUSALS[error.code ?? ''] ?? [400, 'the request is malformed']
    const body = JSON.stringify(bodyFor(status, description))
    socket.end(
      [
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}`,
        'Content-Type: application/json',
        `Content-Length: ${Buffer.byteLength(body)}`,
        'Cache-Control: no-store',
        'Connection: close',
        '',
        body,
      ].join('\r\n')
    )
  })
}
