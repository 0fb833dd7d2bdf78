import type { Server, ServerResponse } from 'node:http'
import type { ServerType } from '@hono/node-server'

/**
 * Keeps idle keep-alive connections open longer than a reverse proxy keeps them in its pool
 * (Traefik: 90 s), so the proxy never reuses a connection Node has just closed (a 502 for the
 * client). Node's own default is 5 s.
 */
export function keepConnectionsLonger(server: ServerType): void {
  if ('keepAliveTimeout' in server) {
    server.keepAliveTimeout = 95_000
    server.headersTimeout = 96_000
  }
}

/**
 * Closes a server without cutting requests short: no new connections, idle keep-alive
 * connections closed at once, and every response from now on says `Connection: close`, so a
 * connection closes as soon as its request is answered. Resolves with `drained` once every
 * connection has ended, or `forced` when some were still open after the timeout and were cut.
 */
export type CloseGracefully = (timeoutMs: number) => Promise<'drained' | 'forced'>

/**
 * Watches `server`'s requests from now on (call it right after `serve`) and returns the function
 * that closes it gracefully. Node's own `close()` leaves a busy keep-alive connection open, and
 * reusable, until its keep-alive timeout (95 s here): a drain would wait that long.
 */
export function gracefulClose(server: ServerType): CloseGracefully {
  const http = server as Server
  const open = new Set<ServerResponse>()
  let closing = false
  const closeWhenAnswered = (response: ServerResponse) => {
    if (!response.headersSent) response.setHeader('Connection', 'close')
  }
  http.on('request', (_request, response: ServerResponse) => {
    open.add(response)
    if (closing) closeWhenAnswered(response)
    response.once('close', () => {
      open.delete(response)
      // The connection is idle once the response is out; it may not have noticed yet.
      if (closing) setImmediate(() => http.closeIdleConnections())
    })
  })
  return (timeoutMs) =>
    new Promise((resolve) => {
      closing = true
      for (const response of open) closeWhenAnswered(response)
      let outcome: 'drained' | 'forced' = 'drained'
      const deadline = setTimeout(() => {
        outcome = 'forced'
        http.closeAllConnections()
      }, timeoutMs)
      http.close(() => {
        clearTimeout(deadline)
        resolve(outcome)
      })
      http.closeIdleConnections()
    })
}
