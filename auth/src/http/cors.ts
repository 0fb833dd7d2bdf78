import { cors } from 'hono/cors'

/**
 * CORS for the endpoints browser-based clients call directly (discovery, JWKS, registration,
 * token, revocation). No cookies are involved, so any origin may read the answers. `/authorize`
 * and the HTML pages never get CORS.
 */
export const publicCors = () =>
  cors({
    origin: '*',
    allowMethods: ['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS'],
    allowHeaders: ['Authorization', 'Content-Type', 'MCP-Protocol-Version'],
    exposeHeaders: ['WWW-Authenticate'],
    maxAge: 86_400,
  })
