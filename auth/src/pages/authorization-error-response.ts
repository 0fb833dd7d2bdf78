import type { Context } from 'hono'
import { AuthorizationErrorPage, AuthorizationErrorRedirect, RateLimited } from '../errors.ts'
import { redirectToClient } from '../http/redirect-to-client.ts'
import type { Logger } from '../logger.ts'
import { renderErrorPage } from './error-page.ts'

export function isAuthorizationError(
  error: unknown
): error is AuthorizationErrorPage | AuthorizationErrorRedirect {
  return error instanceof AuthorizationErrorPage || error instanceof AuthorizationErrorRedirect
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
  logger: Logger
): Response | Promise<Response> {
  const { code, description, reason } = error.error
  logger.info({ event: 'authorization_refused', error: code, reason, path: c.req.path })
  if (error instanceof AuthorizationErrorPage) {
    if (error.error instanceof RateLimited) {
      c.header('Retry-After', String(error.error.retryAfter))
      return renderErrorPage(c, { code, description }, 429)
    }
    return renderErrorPage(c, { code, description })
  }
  return redirectToClient(c, error.redirectUri, issuer, {
    error: code,
    error_description: description,
    state: error.state,
  })
}
