import type { Server, ServerOptions, ServerResponse } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import type { ServerType } from '@hono/node-server'
import { settlesWithin } from './stop-signals.ts'

/** How long a listener waits on its clients, in milliseconds. */
export interface ListenerTimeouts {
  /** An idle keep-alive connection stays open this long. */
  readonly keepAliveMs: number
  /** From a request's first byte to the end of its headers. */
  readonly headersMs: number
  /** From a request's first byte to the end of its body. */
  readonly requestMs: number
  /** How often Node looks for requests past those two bounds. */
  readonly checkEveryMs: number
}

/**
 * Every listener of the auth server and the bridges (public, internal API, metrics).
 *
 * Keep-alive: longer than a reverse proxy keeps idle connections in its pool (Traefik: 90 s), so
 * the proxy never reuses a connection Node has just closed (a 502 for the client); Node's own
 * default is 5 s.
 *
 * Request: a client that announces a longer body than it sends (or trickles its headers) holds a
 * connection and a parser until this bound, Node's default 300 s, so a few hundred such clients
 * would hold the process. 30 s is far beyond what any real request needs: bodies at the auth server
 * are a few KiB, and the bridge's largest (`MAX_REQUEST_BODY_BYTES`, 4 MiB) arrives in 30 s at
 * 1.2 Mbit/s. Only the request is bounded: responses (SSE streams) last as long as they need.
 * Headers arrive in one packet from a proxy, so 10 s is generous. Node counts both from a
 * request's first byte, never across the idle time of a kept-alive connection, so they can be
 * shorter than the keep-alive without closing pooled connections (and Node refuses a headers
 * bound above the request bound). Node looks every 5 s, so a request is cut within 35 s.
 */
export const LISTENER_TIMEOUTS: ListenerTimeouts = {
  keepAliveMs: 95_000,
  headersMs: 10_000,
  requestMs: 30_000,
  checkEveryMs: 5_000,
}

/** `http.createServer` options (`serve({ serverOptions })`) that apply the timeouts. */
export function listenerOptions(timeouts: ListenerTimeouts = LISTENER_TIMEOUTS): ServerOptions {
  return {
    keepAliveTimeout: timeouts.keepAliveMs,
    headersTimeout: timeouts.headersMs,
    requestTimeout: timeouts.requestMs,
    connectionsCheckingInterval: timeouts.checkEveryMs,
  }
}

type ListenError = NodeJS.ErrnoException & { address?: string; port?: number; hostname?: string }

/** What a failed `listen` means to whoever set the port, by its error code. */
const LISTEN_FAILURES: Readonly<Record<string, string>> = {
  EADDRINUSE: 'the address is already in use (another process listens there)',
  EACCES: 'permission denied (ports below 1024 need privileges)',
  EADDRNOTAVAIL: 'this machine has no such address (HOST)',
}

/**
 * A listener that cannot open its port stops the process with one line naming the setting, exit
 * 1, instead of the stack of an unhandled `error` event. Errors once it listens are not its
 * concern and stay fatal as before.
 */
export function stopIfCannotListen(server: Server | ServerType, setting: string): void {
  server.once('error', (error: ListenError) => {
    if (server.listening) throw error
    if (error.syscall === 'getaddrinfo') {
      // The host name did not resolve: HOST's mistake, whatever the port.
      const host = error.hostname ?? 'its host name'
      process.stderr.write(
        `cannot listen on ${host} (HOST): the name resolves to no address here (${error.code})\n`
      )
      process.exit(1)
    }
    const where = error.address ? `${error.address}:${error.port ?? ''}` : 'its address'
    const why = LISTEN_FAILURES[error.code ?? ''] ?? error.message
    process.stderr.write(`cannot listen on ${where} (${setting}): ${why}\n`)
    process.exit(1)
  })
}

/**
 * Closes a server without cutting requests short: no new connections, idle keep-alive
 * connections closed at once, and every response from now on says `Connection: close`, so a
 * connection closes as soon as its request is answered. Resolves with `drained` once every
 * connection has ended, or `forced` when some were still open after the timeout and were cut.
 * Before cutting, `beforeCut` (ending the children) gives the requests still waiting on them an
 * error to answer with, for at most `CUT_GRACE_MS`: a client told why beats a bare reset.
 */
export type CloseGracefully = (
  timeoutMs: number,
  beforeCut?: () => Promise<unknown>
) => Promise<'drained' | 'forced'>

/** How long the answers of requests ended by `beforeCut` may take before connections are cut. */
const CUT_GRACE_MS = 5_000
const ANSWERS_WRITTEN_MS = 100

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
    if (response.headersSent) return
    response.setHeader('Connection', 'close')
    // A handler may name the connection itself when it writes the head (the SDK's event streams
    // say `keep-alive`): while closing, that would invite a proxy to reuse a connection about to
    // end, so its own word is dropped and ours stands.
    const writeHead = response.writeHead
    response.writeHead = ((...args: Parameters<typeof writeHead>) =>
      writeHead.apply(response, args.map(withoutConnection) as typeof args)) as typeof writeHead
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
  return (timeoutMs, beforeCut) =>
    new Promise((resolve) => {
      closing = true
      for (const response of open) closeWhenAnswered(response)
      let outcome: 'drained' | 'forced' = 'drained'
      const deadline = setTimeout(async () => {
        outcome = 'forced'
        if (beforeCut) {
          await settlesWithin(beforeCut(), CUT_GRACE_MS)
          // The errors just given are written over a few turns of the event loop.
          await sleep(ANSWERS_WRITTEN_MS)
        }
        http.closeAllConnections()
      }, timeoutMs)
      http.close(() => {
        clearTimeout(deadline)
        resolve(outcome)
      })
      http.closeIdleConnections()
    })
}

/** A `writeHead` argument without its `Connection` header, if it is a header object. */
function withoutConnection(argument: unknown): unknown {
  if (typeof argument !== 'object' || argument === null || Array.isArray(argument)) return argument
  return Object.fromEntries(
    Object.entries(argument).filter(([name]) => name.toLowerCase() !== 'connection')
  )
}
