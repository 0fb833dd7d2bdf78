import type { Context } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import {
  InsufficientScope,
  InvalidClient,
  InvalidRequest,
  InvalidToken,
  OAuthError,
  RateLimited,
  RequestTooLarge,
  ServerError,
  TemporarilyUnavailable,
} from '../errors.ts'
import type { Logger } from '../logger.ts'
import { StoreUnavailable } from '../store/store.ts'

/**
 * The one place an error becomes an HTTP response: `{error, error_description}` JSON
 * (RFC 6749 §5.2), `Cache-Control: no-store`, and the `WWW-Authenticate` challenge for bearer
 * (RFC 6750 §3) and HTTP Basic client authentication failures. Anything that is not an
 * `OAuthError` is a bug on our side: it is logged and answered as a bare `server_error`.
 */
export function toOAuthResponse(error: unknown, c: Context, logger: Logger): Response {
  const oauthError = asOAuthError(error)
  if (oauthError instanceof ServerError || error instanceof StoreUnavailable) {
    logger.error({ err: error, method: c.req.method, path: c.req.path }, 'unhandled error')
  } else if (oauthError.reason) {
    logger.info({
      event: 'request_refused',
      error: oauthError.code,
      reason: oauthError.reason,
      path: c.req.path,
    })
  }

  const headers: Record<string, string> = { 'Cache-Control': 'no-store', Pragma: 'no-cache' }
  const challenge = challengeFor(oauthError, c)
  if (challenge) headers['WWW-Authenticate'] = challenge
  if (oauthError instanceof RateLimited) headers['Retry-After'] = String(oauthError.retryAfter)
  if (oauthError instanceof TemporarilyUnavailable) headers['Retry-After'] = '5'

  return c.json(
    { error: oauthError.code, error_description: oauthError.description },
    oauthError.status as ContentfulStatusCode,
    headers
  )
}

function asOAuthError(error: unknown): OAuthError {
  if (error instanceof OAuthError) return error
  if (error instanceof StoreUnavailable) {
    return new TemporarilyUnavailable('the service is temporarily unavailable, retry shortly', {
      cause: error,
    })
  }
  if (error instanceof HTTPException && error.status < 500) {
    return error.status === 413
      ? new RequestTooLarge('the request body is too large')
      : new InvalidRequest(error.message || 'the request is malformed', { cause: error })
  }
  return new ServerError('the server could not complete the request', { cause: error })
}

function challengeFor(error: OAuthError, c: Context): string | undefined {
  if (error instanceof InvalidClient && /^basic /i.test(c.req.header('authorization') ?? '')) {
    return 'Basic realm="token", charset="UTF-8"'
  }
  if (error instanceof InvalidToken || error instanceof InsufficientScope) {
    const params = [`error="${error.code}"`, `error_description="${quote(error.description)}"`]
    if (error instanceof InsufficientScope) params.push(`scope="${quote(error.scope)}"`)
    return `Bearer ${params.join(', ')}`
  }
  return undefined
}

/** RFC 9110 §5.6.4 quoted-string: escape backslash and double quote. */
export function quote(value: string): string {
  return value.replace(/[\\"]/g, '\\$&').replace(/[\r\n]/g, ' ')
}
