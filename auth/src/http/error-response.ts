import type { Context } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { type BoundedLog, boundedLog } from '../../../mcp-services/src/bounded-log.ts'
import type { Clock } from '../clock.ts'
import {
  AccessDenied,
  InsufficientScope,
  InvalidClient,
  InvalidRequest,
  InvalidToken,
  MethodNotAllowed,
  MissingToken,
  OAuthError,
  RateLimited,
  RequestTooLarge,
  ServerError,
  TemporarilyUnavailable,
  TokenCheckUnavailable,
} from '../errors.ts'
import type { Logger } from '../logger.ts'
import { storeFailureReason } from '../store/redis-failures.ts'
import { DamagedRecord, StoreMisconfigured, StoreUnavailable } from '../store/store.ts'

/**
 * On a protected resource's refusal (401 or 403 with `resource_metadata`): a browser client may
 * read its status and challenge, or it cannot tell an expired token from a network failure nor
 * find where to sign in (RFC 9728 §5). Its own preflight has passed the service's origin check
 * already; the answer says nothing a page could not read from the metadata documents.
 */
const READABLE_REFUSAL: Readonly<Record<string, string>> = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Expose-Headers': 'WWW-Authenticate',
}

/**
 * Where errors are logged: bugs whole; a client's refusals, and a store outage's failures (each
 * request in it fails alike), within a bound.
 */
export interface ErrorLogs {
  readonly logger: Logger
  readonly refusals: BoundedLog
}

/** An app's error logs: at most `perSecond` lines a second of each kind (`REFUSAL_LOG_RATE`). */
export function errorLogs(logger: Logger, perSecond: number, clock: Clock): ErrorLogs {
  return { logger, refusals: boundedLog(logger, { perSecond, now: () => clock.now() }) }
}

/**
 * The one place an error becomes an HTTP response: `{error, error_description}` JSON
 * (RFC 6749 §5.2), `Cache-Control: no-store`, and the `WWW-Authenticate` challenge for bearer
 * (RFC 6750 §3) and HTTP Basic client authentication failures. Anything that is not an
 * `OAuthError` is a bug on our side: it is logged and answered as a bare `server_error`.
 */
export function toOAuthResponse(error: unknown, c: Context, logs: ErrorLogs): Response {
  const { oauthError, headers } = describeError(error, c, logs)
  return c.json(
    { error: oauthError.code, error_description: wireDescription(oauthError.description) },
    oauthError.status as ContentfulStatusCode,
    headers
  )
}

/**
 * What `toOAuthResponse` and the pages' error answer share: the error as an `OAuthError`, logged
 * as its kind asks, and the headers that go with it (the challenge, `Retry-After`, `Allow`).
 */
export function describeError(
  error: unknown,
  c: Context,
  { logger, refusals }: ErrorLogs
): { readonly oauthError: OAuthError; readonly headers: Record<string, string> } {
  const oauthError = asOAuthError(error)
  if (error instanceof StoreMisconfigured) {
    // A store refusing what we send (a command or key its ACL user lacks) will not mend by
    // retrying: an operator's to fix, so at error, though without a stack either.
    refusals(
      'error',
      'store_misconfigured',
      { method: c.req.method, path: c.req.path, reason: error.message },
      'the store refused the request: 503'
    )
  } else if (error instanceof StoreUnavailable) {
    // An outage the answer (503, Retry-After) already handles: named, without a stack, and at
    // warn, so it does not read as a bug of ours; `auth_store_errors_total` counts them.
    refusals(
      'warn',
      'store_unavailable',
      { method: c.req.method, path: c.req.path, reason: error.message },
      'the store did not answer: 503'
    )
  } else if (oauthError instanceof ServerError) {
    logUnexpected(logger, error, { method: c.req.method, path: c.req.path }, 'unhandled error')
  } else if (oauthError.reason) {
    refusals('info', 'request_refused', {
      error: oauthError.code,
      reason: oauthError.reason,
      path: c.req.path,
    })
  }

  const headers: Record<string, string> = {
    'Cache-Control': 'no-store',
    Pragma: 'no-cache',
    'X-Content-Type-Options': 'nosniff',
  }
  const challenge = challengeFor(oauthError)
  if (challenge) headers['WWW-Authenticate'] = challenge
  if (oauthError.resourceMetadata !== undefined) Object.assign(headers, READABLE_REFUSAL)
  const retryAfter = retryAfterOf(oauthError)
  if (retryAfter) headers['Retry-After'] = retryAfter
  if (oauthError instanceof MethodNotAllowed) headers.Allow = oauthError.allow.join(', ')
  return { oauthError, headers }
}

/** When to try again (`Retry-After`), for an error that time mends: a limit, an outage. */
export function retryAfterOf(error: OAuthError): string | undefined {
  if (error instanceof RateLimited) return String(error.retryAfter)
  if (error instanceof TemporarilyUnavailable) return '5'
  return undefined
}

/**
 * A bug of ours, logged with its stack; or a record changed outside the gateway, which is no bug
 * and needs the key named, not a stack (the operator deletes or restores that record).
 */
function logUnexpected(
  logger: Logger,
  error: unknown,
  fields: Record<string, string>,
  message: string
): void {
  if (error instanceof DamagedRecord) {
    logger.error({ ...fields, event: 'damaged_record', key: error.key }, error.message)
  } else {
    logger.error({ ...fields, err: error }, message)
  }
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

/**
 * RFC 6749 §5.2: a client that tried the Authorization header gets a challenge with its 401, and
 * since a 401 carries one (RFC 9110 §15.5.2), so does a client that sent its credentials in the
 * body or none. The one scheme clients authenticate with here is Basic, so that is what a Bearer
 * or an empty header is told too; one realm, as one secret opens every endpoint of the client.
 */
function challengeFor(error: OAuthError): string | undefined {
  if (error instanceof InvalidClient) return 'Basic realm="oauth", charset="UTF-8"'
  return bearerChallenge(error)
}

/**
 * RFC 6750 §3 challenge of a protected resource, with RFC 9728 §5.1 `resource_metadata` when the
 * error names the resource. A request without any token gets no error code (RFC 6750 §3.1).
 */
function bearerChallenge(error: OAuthError): string | undefined {
  const forResource = error.resourceMetadata !== undefined
  if (
    !(error instanceof InvalidToken || error instanceof InsufficientScope) &&
    !(error instanceof AccessDenied && forResource)
  ) {
    return undefined
  }
  const params: string[] = []
  if (!(error instanceof MissingToken)) {
    params.push(
      `error="${error.code}"`,
      `error_description="${wireDescription(error.description)}"`
    )
  }
  const scope = error instanceof InsufficientScope ? error.scope : error.resourceScope
  if (scope && !(error instanceof AccessDenied)) params.push(`scope="${quote(scope)}"`)
  if (forResource) params.push(`resource_metadata="${quote(error.resourceMetadata)}"`)
  return params.length > 0 ? `Bearer ${params.join(', ')}` : 'Bearer'
}

/**
 * The answer of the forward-auth endpoint (`/verify`) to a refused request: only 401 or 403 (nginx
 * `auth_request` turns any other status into a 500), the challenge, and an empty body with
 * `Content-Length: 0`. Anything that is not a refusal is a failure on our side: it is logged and
 * the request is refused (fail closed) rather than answered with a 5xx.
 */
export function forwardAuthRefusal(
  error: unknown,
  path: string,
  logger: Logger,
  refusalLog: BoundedLog
): { readonly status: 401 | 403; readonly headers: Record<string, string> } {
  let refusal: OAuthError
  if (
    error instanceof InvalidToken ||
    error instanceof InsufficientScope ||
    error instanceof AccessDenied
  ) {
    refusal = error
  } else {
    logUnexpected(logger, error, { event: 'verify_failed', path }, 'verify failed closed')
    refusal = new InvalidToken('the token could not be verified', { cause: error })
  }
  const fields = {
    error: refusal.code,
    reason: refusal.reason,
    resource_metadata: refusal.resourceMetadata,
  }
  if (refusal instanceof MissingToken) {
    // Every MCP connection starts with a request without a token: that is not worth an info line.
    logger.debug({ event: 'verify_denied', ...fields })
  } else if (refusal instanceof TokenCheckUnavailable) {
    // An outage, not a bug: why, in one line, without a stack on every request.
    refusalLog('error', 'verify_denied', { ...fields, cause: storeFailureReason(refusal.cause) })
  } else {
    refusalLog('info', 'verify_denied', fields)
  }
  const headers: Record<string, string> = {
    'Cache-Control': 'no-store',
    'Content-Length': '0',
  }
  const challenge = bearerChallenge(refusal)
  if (challenge) headers['WWW-Authenticate'] = challenge
  if (refusal.resourceMetadata !== undefined) Object.assign(headers, READABLE_REFUSAL)
  return { status: refusal.status === 403 ? 403 : 401, headers }
}

/** The most of a description an answer carries; the ones we write are far shorter. */
export const MAX_DESCRIPTION_LENGTH = 500

/**
 * A description as it leaves the server (JSON body, challenge, redirect): RFC 6749 §5.2 allows
 * only %x20-21 / %x23-5B / %x5D-7E. A description can carry a client's text, and a client reading
 * it as the RFC promises must not meet a line break, a quote that ends its challenge parameter, or
 * a bidi override; so each other character is replaced (a `"` by `'`), never the whole message
 * dropped, and the length is bounded whatever a description came to hold.
 */
export function wireDescription(description: string): string {
  const text = description.replaceAll('"', "'").replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/gu, '?')
  return text.length > MAX_DESCRIPTION_LENGTH
    ? `${text.slice(0, MAX_DESCRIPTION_LENGTH - 3)}...`
    : text
}

/** RFC 9110 §5.6.4 quoted-string: escape backslash and double quote. */
export function quote(value: string): string {
  return value.replace(/[\\"]/g, '\\$&').replace(/[\r\n]/g, ' ')
}
