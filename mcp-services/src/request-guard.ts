import type { Context, MiddlewareHandler } from 'hono'
import { cors } from 'hono/cors'
import { setAnswerHeaders } from './answer-headers.ts'
import { jsonRpcErrorResponse, SERVER_ERROR } from './json-rpc-error.ts'

export interface RequestGuardOptions {
  /** Host names (without port) accepted; `'*'`: any. */
  readonly allowedHosts: readonly string[] | '*'
  /** Cross-origin browser origins accepted besides same-origin; `'*'`: any. */
  readonly allowedOrigins: readonly string[] | '*'
  /**
   * The bridge's public URL when the caller knows it (`BridgeDeps.resource`): its scheme is the
   * one a request for its host came over when no proxy says so.
   */
  readonly publicUrl?: string | undefined
}

/**
 * DNS-rebinding and cross-site protection for `/mcp` (MCP transports spec, "Security Warning").
 * A request whose `Host` is not allowed is refused with 403; so is a browser request whose
 * `Origin` is neither the request's own origin (scheme included: a page served over http is
 * another origin than the bridge at https on the same host) nor configured. Requests without
 * `Origin` (non-browser clients) pass. Allowed cross-origin callers get CORS headers, including
 * `Mcp-Session-Id` exposed.
 */
export function requestGuard(options: RequestGuardOptions): MiddlewareHandler[] {
  const guard = hostAndOriginCheck(options)
  // Built per preflight: the `Mcp-Param-*` names a client mirrors a tool's parameters into
  // (SEP-2243) depend on the tool, so the ones asked for are allowed beside the fixed list.
  const preflight = (c: Context, next: () => Promise<void>) =>
    cors({
      origin: (origin) => origin || null,
      allowMethods: ['GET', 'POST', 'DELETE', 'OPTIONS'],
      allowHeaders: [...ALLOWED_HEADERS, ...paramHeadersAskedFor(c)],
      exposeHeaders: [...EXPOSED_HEADERS],
      maxAge: 600,
    })(c, next)
  const corsHeaders: MiddlewareHandler = async (c, next) => {
    if (c.req.method === 'OPTIONS') return preflight(c, next)
    await next()
    addCorsHeaders(c, c.req.header('origin'))
    return undefined
  }
  return [guard, corsHeaders]
}

/** The refusals of {@link requestGuard} without its CORS headers: 403 for a Host or Origin not allowed. */
export function hostAndOriginCheck(options: RequestGuardOptions): MiddlewareHandler {
  const publicUrl = options.publicUrl === undefined ? undefined : new URL(options.publicUrl)
  return async (c, next) => {
    const host = c.req.header('host') ?? ''
    // The Node adapter builds the request's headers from every raw line, joining repeats with
    // commas: a request with two Host lines is answered 400 (RFC 9112 §3.2), never judged by
    // whichever copy comes first.
    if (host.includes(',')) {
      return jsonRpcErrorResponse(400, SERVER_ERROR, 'Bad Request: more than one Host header')
    }
    // The URL's host is `Host`'s, or an absolute request target's, which a server must then
    // follow instead of `Host` (RFC 9112 §3.2.2): the one the request is for either way.
    const target = new URL(c.req.url)
    if (options.allowedHosts !== '*' && !options.allowedHosts.includes(target.hostname)) {
      return jsonRpcErrorResponse(403, SERVER_ERROR, `Forbidden: Host not allowed: ${target.host}`)
    }
    const origin = c.req.header('origin')
    if (origin !== undefined && !originAllowed(origin, c, publicUrl, options.allowedOrigins)) {
      return jsonRpcErrorResponse(403, SERVER_ERROR, `Forbidden: Origin not allowed: ${origin}`)
    }
    await next()
    return undefined
  }
}

const EXPOSED_HEADERS = ['Mcp-Session-Id', 'WWW-Authenticate'] as const
const ALLOWED_HEADERS = [
  'Content-Type',
  'Accept',
  'Authorization',
  'Mcp-Session-Id',
  'Mcp-Protocol-Version',
  'Mcp-Method',
  'Mcp-Name',
  'Last-Event-ID',
] as const

/** A parameter header's name: `Mcp-Param-` and a header token of letters, digits and dashes. */
const PARAM_HEADER = /^mcp-param-[a-z0-9-]{1,100}$/i

/** The `Mcp-Param-*` headers a preflight asks for; any other name stays refused. */
function paramHeadersAskedFor(c: Context): string[] {
  const asked = c.req.header('access-control-request-headers') ?? ''
  return asked
    .split(',')
    .map((name) => name.trim())
    .filter((name) => PARAM_HEADER.test(name))
    .slice(0, 20)
}

/**
 * The headers Hono's `cors()` gives an answer that is not a preflight, set on the answer itself.
 * `cors()` sets them on a placeholder before the handler runs and appends `Vary` after it, and
 * each time Hono copies the whole response (body stream and headers) into a new one: twice a
 * request, and the Node adapter then streams the copy instead of writing a JSON body at once.
 * Same headers, same values; an answer whose headers cannot change is copied once, as before.
 */
function addCorsHeaders(c: Context, origin: string | undefined): void {
  setAnswerHeaders(c, [
    ...(origin ? [['Access-Control-Allow-Origin', origin] as const] : []),
    ['Access-Control-Expose-Headers', EXPOSED_HEADERS.join(',')],
    ['Vary', 'Origin', true],
  ])
}

function originAllowed(
  origin: string,
  c: Context,
  publicUrl: URL | undefined,
  allowed: readonly string[] | '*'
): boolean {
  if (allowed === '*' || allowed.includes(origin)) return true
  const host = c.req.header('host') ?? ''
  try {
    // Through URL both sides lose a default port (`https://h:443` is `https://h`).
    const own = new URL(`${schemeUsed(c, host, publicUrl)}//${host}`).origin
    return new URL(origin).origin === own
  } catch {
    return false
  }
}

/**
 * The scheme the client used: the proxy's `X-Forwarded-Proto` (the edge is the only way to a
 * bridge on its own listener; a page can add the header only to a request needing a preflight,
 * and the preflight, which cannot carry it, is judged on the real scheme), else the public URL's
 * for a request to its host, else the request's own (a client talking to the bridge directly).
 */
function schemeUsed(c: Context, host: string, publicUrl: URL | undefined): string {
  const forwarded = c.req.header('x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase()
  if (forwarded === 'https' || forwarded === 'http') return `${forwarded}:`
  if (publicUrl && new URL(`${publicUrl.protocol}//${host}`).host === publicUrl.host) {
    return publicUrl.protocol
  }
  return new URL(c.req.url).protocol
}
