/**
 * OAuth errors, one class per error code of RFC 6749 §5.2, RFC 7591 §3.2.2, RFC 6750 §3.1 and
 * RFC 8628 §3.5. Domain code throws these; `http/error-response.ts` alone turns them into HTTP.
 *
 * `description` is sent to the client; `reason` is an internal, more precise cause that goes to the
 * logs only, so responses do not reveal which check failed.
 */
export abstract class OAuthError extends Error {
  abstract readonly code: string
  abstract readonly status: number
  readonly description: string
  readonly reason: string | undefined
  /**
   * RFC 9728 §5.1: the metadata URL of the protected resource that refused the request, sent as
   * `resource_metadata` in the `WWW-Authenticate` challenge so clients can discover how to log in.
   */
  readonly resourceMetadata: string | undefined
  /**
   * The scopes that protected resource requires, sent as `scope` in a 401 challenge: MCP
   * 2026-07-28 has clients ask for the challenge's scopes first (scope selection).
   */
  readonly resourceScope: string | undefined

  constructor(description: string, options: OAuthErrorOptions = {}) {
    super(description, { cause: options.cause })
    this.description = description
    this.reason = options.reason
    this.resourceMetadata = options.resourceMetadata
    this.resourceScope = options.resourceScope
  }

  override get name(): string {
    return this.constructor.name
  }
}

export interface OAuthErrorOptions {
  readonly reason?: string
  readonly cause?: unknown
  readonly resourceMetadata?: string
  readonly resourceScope?: string
}

export class InvalidRequest extends OAuthError {
  readonly code = 'invalid_request'
  readonly status: number = 400
}

/** A body larger than the endpoint accepts (HTTP 413, still in the OAuth error shape). */
export class RequestTooLarge extends InvalidRequest {
  override readonly status = 413
}

/** Unknown client or failed client authentication: RFC 6749 §5.2 requires 401. */
export class InvalidClient extends OAuthError {
  readonly code = 'invalid_client'
  readonly status = 401
}

export class InvalidGrant extends OAuthError {
  readonly code = 'invalid_grant'
  readonly status = 400
}

/**
 * A code or approved device code whose family was revoked before its first tokens were issued (a
 * replay racing the redemption, a consent withdrawn, an operator's revocation). The device grant
 * answers it as `access_denied` (`DeviceAccessDenied`).
 */
export class RevokedGrant extends InvalidGrant {}

export class UnauthorizedClient extends OAuthError {
  readonly code = 'unauthorized_client'
  readonly status = 400
}

export class UnsupportedGrantType extends OAuthError {
  readonly code = 'unsupported_grant_type'
  readonly status = 400
}

export class UnsupportedResponseType extends OAuthError {
  readonly code = 'unsupported_response_type'
  readonly status = 400
}

export class InvalidScope extends OAuthError {
  readonly code = 'invalid_scope'
  readonly status = 400
}

/** RFC 8707 §2: the requested `resource` is not one this server protects. */
export class InvalidTarget extends OAuthError {
  readonly code = 'invalid_target'
  readonly status = 400
}

export class AccessDenied extends OAuthError {
  readonly code = 'access_denied'
  readonly status = 403
}

/** RFC 7591 §3.2.2 */
export class InvalidRedirectUri extends OAuthError {
  readonly code = 'invalid_redirect_uri'
  readonly status = 400
}

/** RFC 7591 §3.2.2 */
export class InvalidClientMetadata extends OAuthError {
  readonly code = 'invalid_client_metadata'
  readonly status = 400
}

/** RFC 6750 §3.1: a missing, malformed, expired or revoked bearer token. */
export class InvalidToken extends OAuthError {
  readonly code = 'invalid_token'
  readonly status = 401
}

/**
 * RFC 6750 §3.1: the request carried no bearer token at all. The challenge then names no error
 * code, only where to discover the authorization server.
 */
export class MissingToken extends InvalidToken {}

/**
 * The token could not be checked (the store did not answer the revocation lookup): the request is
 * refused, as if the token were invalid, and the failure is logged as an error (fail closed).
 */
export class TokenCheckUnavailable extends InvalidToken {}

/** RFC 6750 §3.1 */
export class InsufficientScope extends OAuthError {
  readonly code = 'insufficient_scope'
  readonly status = 403
  readonly scope: string

  constructor(description: string, scope: string, options: OAuthErrorOptions = {}) {
    super(description, options)
    this.scope = scope
  }
}

/** RFC 8628 §3.5 */
export class AuthorizationPending extends OAuthError {
  readonly code = 'authorization_pending'
  readonly status = 400
}

/** RFC 8628 §3.5 */
export class SlowDown extends OAuthError {
  readonly code = 'slow_down'
  readonly status = 400
}

/** RFC 8628 §3.5: the user denied the device (a token endpoint error, so 400, not 403). */
export class DeviceAccessDenied extends OAuthError {
  readonly code = 'access_denied'
  readonly status = 400
}

/** RFC 8628 §3.5 */
export class ExpiredToken extends OAuthError {
  readonly code = 'expired_token'
  readonly status = 400
}

export class NotFound extends OAuthError {
  readonly code = 'not_found'
  readonly status = 404
}

/** No endpoint of the app has this path (what the router's not-found handler throws). */
export class NoSuchEndpoint extends NotFound {}

/** RFC 9110 §15.5.6: the path exists, not with this method; `allow` lists those it takes. */
export class MethodNotAllowed extends OAuthError {
  readonly code = 'invalid_request'
  readonly status = 405
  readonly allow: readonly string[]

  constructor(description: string, allow: readonly string[]) {
    super(description)
    this.allow = allow
  }
}

/** Too many requests from one caller; `retryAfter` is in seconds. */
export class RateLimited extends OAuthError {
  readonly code = 'temporarily_unavailable'
  readonly status = 429
  readonly retryAfter: number

  constructor(description: string, retryAfter: number) {
    super(description)
    this.retryAfter = retryAfter
  }
}

export class TemporarilyUnavailable extends OAuthError {
  readonly code = 'temporarily_unavailable'
  readonly status = 503
}

export class ServerError extends OAuthError {
  readonly code = 'server_error'
  readonly status = 500
}

/**
 * An authorization endpoint error that cannot be redirected (unknown client, untrusted redirect
 * URI, RFC 6749 §4.1.2.1): the user sees an HTML page instead.
 */
export class AuthorizationErrorPage extends Error {
  readonly error: OAuthError

  constructor(error: OAuthError) {
    super(error.description, { cause: error })
    this.error = error
  }
}

/** An authorization endpoint error sent back to the client's verified redirect URI. */
export class AuthorizationErrorRedirect extends Error {
  readonly error: OAuthError
  readonly redirectUri: string
  readonly state: string | undefined

  constructor(error: OAuthError, redirectUri: string, state: string | undefined) {
    super(error.description, { cause: error })
    this.error = error
    this.redirectUri = redirectUri
    this.state = state
  }
}
