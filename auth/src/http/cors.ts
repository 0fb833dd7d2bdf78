import type { MiddlewareHandler } from 'hono'
import { cors } from 'hono/cors'
import { type AnswerHeader, setAnswerHeaders } from '../../../mcp-services/src/answer-headers.ts'

/**
 * CORS for the endpoints browser-based clients call directly (discovery, JWKS, registration,
 * token, revocation). No cookies are involved, so any origin may read the answers. `/authorize`
 * and the HTML pages never get CORS.
 *
 * Preflights are Hono's `cors()`. Other answers get their two headers set on the answer itself:
 * `cors()` would set them on a placeholder response before the handler runs, and Hono would then
 * copy the handler's whole answer into it (a WHATWG `Response` and `Headers` per request, about a
 * twentieth of a token request's CPU time).
 */
export const publicCors = (): MiddlewareHandler => {
  const preflight = cors({
    origin: '*',
    allowMethods: ['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS'],
    allowHeaders: ['Authorization', 'Content-Type', 'MCP-Protocol-Version'],
    exposeHeaders: [EXPOSED],
    maxAge: 86_400,
  })
  return async (c, next) => {
    if (c.req.method === 'OPTIONS') return preflight(c, next)
    await next()
    setAnswerHeaders(c, ANSWER_HEADERS)
    return undefined
  }
}

const EXPOSED = 'WWW-Authenticate'
const ANSWER_HEADERS: readonly AnswerHeader[] = [
  ['Access-Control-Allow-Origin', '*'],
  ['Access-Control-Expose-Headers', EXPOSED],
]
