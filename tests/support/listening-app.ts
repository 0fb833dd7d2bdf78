import { once } from 'node:events'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import type { Hono } from 'hono'

/** An app served by a real Node HTTP listener on a free loopback port. */
export interface ListeningApp {
  readonly origin: string
  /** Sends `path` (relative to the issuer) over the network, as a client would. */
  request(path: string, init?: RequestInit): Promise<Response>
  close(): Promise<void>
}

/**
 * Serves `app` on 127.0.0.1 so that concurrent requests are concurrent on the wire (sockets,
 * parsing, the event loop) and not a chain of in-process calls.
 */
export async function listen(app: Hono): Promise<ListeningApp> {
  const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }) as Server
  await once(server, 'listening')
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    origin,
    request: (path, init) => fetch(`${origin}${path}`, init),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
