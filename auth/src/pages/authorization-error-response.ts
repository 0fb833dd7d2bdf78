import type { Context } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { AuthorizationErrorPage, AuthorizationErrorRedirect, type OAuthError } from '../errors.ts'
import {
  describeError,
  type ErrorLogs,
  retryAfterOf,
  wireDescription,
} from '../http/error-response.ts'
import { redirectToClient } from '../http/redirect-to-client.ts'
import { renderErrorPage } from './error-page.ts'

export function isAuthorizationError(
  error: unknown
): error is AuthorizationErrorPage | AuthorizationErrorRedirect {
  return error instanceof AuthorizationErrorPage || error instanceof AuthorizationErrorRedirect
}

/** Paths a person's browser opens (the consent, device and account pages, the sign-in's return). */
const PAGE_PATHS: ReadonlySet<string> = new Set([
  '/authorize',
  '/callback',
  '/dev-login',
  '/device',
  '/account',
])

/**
 * Whether an error is answered with a page: a person's browser opened or posted to one of them,
 * and a person reads the answer. Another method there (a 405) is a program's, answered in JSON.
 */
export function servesPages(method: string, path: string): boolean {
  if (method !== 'GET' && method !== 'POST') return false
  return PAGE_PATHS.has(path) || path.startsWith('/device/') || path.startsWith('/account/')
}

/**
 * Errors of the browser-facing authorization endpoints: before the client's redirect URI is
 * trusted, an HTML page (all values escaped); after, a redirect to the client carrying `error`,
 * `error_description`, `state` and `iss` (RFC 6749 §4.1.2.1, RFC 9207).
 */
export function toAuthorizationErrorResponse(
  error: AuthorizationErrorPage | AuthorizationErrorRedirect,
  c: Context,
  issuer: string,
  logs: ErrorLogs
): Response | Promise<Response> {
  const { code, description, reason } = error.error
  logs.refusals('info', 'authorization_refused', { error: code, reason, path: c.req.path })
  if (error instanceof AuthorizationErrorPage) return errorPage(c, error.error)
  return redirectToClient(c, error.redirectUri, issuer, {
    error: code,
    error_description: wireDescription(description),
    state: error.state,
  })
}

/**
 * Any other error on a page's path (the store out of reach, a form the page never sends): the
 * same page rather than JSON, logged and headed as `toOAuthResponse` would.
 */
export function toErrorPageResponse(
  error: unknown,
  c: Context,
  logs: ErrorLogs
): Response | Promise<Response> {
  const { oauthError, headers } = describeError(error, c, logs)
  if (headers.Allow) c.header('Allow', headers.Allow)
  return errorPage(c, oauthError)
}

function errorPage(c: Context, error: OAuthError): Response | Promise<Response> {
  const retryAfter = retryAfterOf(error)
  if (retryAfter) c.header('Retry-After', retryAfter)
  // A refused request is a 400 page whatever the error's own status: a 401 would ask for a
  // challenge no person answers. An outage (503), a limit (429) or a bug (500) keeps its status.
  const status = error.status === 401 || error.status === 403 ? 400 : error.status
  return renderErrorPage(c, error, status as ContentfulStatusCode)
}
