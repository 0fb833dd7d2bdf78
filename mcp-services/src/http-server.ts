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
