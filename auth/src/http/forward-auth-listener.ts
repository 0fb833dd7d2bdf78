import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http'
import { getRequestListener } from '@hono/node-server'
import type { Hono } from 'hono'
import type { HeaderReader } from '../verify/forwarded-target.ts'
import type { ForwardAuth, ForwardAuthAnswer } from './forward-auth.ts'

/**
 * The Node request listener of the public port: `/verify` answered straight from Node's request,
 * everything else handed to the app (its own `/verify` route included). The forward-auth endpoint answers every request a
 * proxy lets through to an MCP server; through the app it would pay, per request, for a WHATWG
 * request and response, the router and a context, about a quarter of its CPU time (against a bare
 * Node server answering the same request: docs/benchmarks.md). The app's own `/verify` route asks
 * the same `ForwardAuth`, so both answer alike.
 */
export function publicRequestListener(app: Hono, forwardAuth: ForwardAuth): RequestListener {
  const next = getRequestListener(app.fetch)
  return (request, response) => {
    // The app's listener answers its own failures: nothing to wait for here.
    if (!isVerifyTarget(request.url)) return void next(request, response)
    // A body (a POST) is not read, only drained, so the connection can be reused.
    if (request.headers['content-length'] || request.headers['transfer-encoding']) request.resume()
    const answer = forwardAuth(
      nodeHeaderReader(request),
      request.method ?? 'GET',
      Object.keys(request.headers)
    )
    if (answer instanceof Promise) {
      answer.then(
        (settled) => send(response, settled),
        // `ForwardAuth` answers its own failures; this is a last resort, fail closed.
        () => send(response, { status: 401, headers: { 'Content-Length': '0' } })
      )
    } else {
      send(response, answer)
    }
  }
}

/** `/verify`, with or without a query, as the app's route matches it. */
function isVerifyTarget(url: string | undefined): boolean {
  return url === '/verify' || (url?.startsWith('/verify?') ?? false)
}

function send(response: ServerResponse, answer: ForwardAuthAnswer): void {
  response.writeHead(answer.status, answer.headers)
  response.end()
}

/** Header fields by lower-case name from Node's parsed headers; repeats joined as a list. */
export function nodeHeaderReader(incoming: IncomingMessage): HeaderReader {
  const headers = incoming.headers
  return (name) => {
    const value = headers[name]
    return Array.isArray(value) ? value.join(', ') : value
  }
}
