import { createServer, type Server } from 'node:http'
import type { Hono } from 'hono'
import type { ForwardAuth } from '../../auth/src/http/forward-auth.ts'
import { publicRequestListener } from '../../auth/src/http/forward-auth-listener.ts'

/** The gateway's public port as `auth/src/main.ts` serves it (`/verify` in front of the app). */
export function servePublic(app: Hono, forwardAuth: ForwardAuth, port = 0): Server {
  return createServer(publicRequestListener(app, forwardAuth)).listen(port, '127.0.0.1')
}
