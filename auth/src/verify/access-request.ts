import type { ProtectedResource } from '../config.ts'
import {
  AccessDenied,
  InsufficientScope,
  InvalidToken,
  MissingToken,
  OAuthError,
  TokenCheckUnavailable,
} from '../errors.ts'
import { canonicalResource } from '../oauth/resource.ts'
import { listsUser } from '../policy/allow-list.ts'
import type { AccessTokenVerifier, VerifiedToken } from './token-verifier.ts'

/** What a request to a protected resource brings for the access check. */
export interface AccessRequest {
  /** The `Authorization` header as received, if any. */
  readonly authorization: string | undefined
  /** The protected resource the request is for; undefined when it names none we know. */
  readonly resource: ProtectedResource | undefined
  /** RFC 9728 metadata URL named in the challenge when the request is refused. */
  readonly resourceMetadata: string | undefined
}

/** RFC 6750 §2.1: `Bearer` and one token68 value. */
const BEARER = /^bearer +([A-Za-z0-9._~+/-]+=*) *$/i
const BEARER_SCHEME = /^bearer(?: |$)/i

/**
 * The access decision shared by `/verify` (behind a proxy) and the in-process guard (standalone):
 * a bearer token that verifies, whose `aud` names this resource, that is not revoked (nor its
 * refresh family), whose user the service's policy admits, and that carries the scopes the service
 * requires. Gives the verified token, or throws `MissingToken`, `InvalidToken` (401),
 * `AccessDenied` or `InsufficientScope` (403), each naming the resource metadata URL.
 *
 * Made for the hot path: when the token and its revocation state are cached the answer is
 * synchronous (no promise, no microtask), else a promise that settles the same way.
 */
export function checkAccessRequest(
  verifier: AccessTokenVerifier,
  request: AccessRequest
): VerifiedToken | Promise<VerifiedToken> {
  const authorization = request.authorization
  // A value seen before passed the syntax check then: look it up before parsing it again.
  const seen =
    authorization?.startsWith('Bearer ') === true
      ? verifier.cached(authorization.slice(7))
      : undefined
  if (seen) {
    const resource = checkResource(seen, request)
    const revoked = verifier.knownRevocation(seen)
    if (revoked === false) return checkGrant(seen, resource, request)
  }
  return verifySlowly(verifier, request)
}

async function verifySlowly(
  verifier: AccessTokenVerifier,
  request: AccessRequest
): Promise<VerifiedToken> {
  const authorization = request.authorization
  if (authorization === undefined || !BEARER_SCHEME.test(authorization)) {
    throw new MissingToken('a bearer token is required', options(request, 'no_bearer_token'))
  }
  const token = BEARER.exec(authorization)?.[1]
  if (token === undefined) {
    throw new InvalidToken(
      'the authorization header is malformed',
      options(request, 'malformed_header')
    )
  }

  let verified: VerifiedToken
  try {
    verified = await verifier.verify(token)
  } catch (error) {
    const description = error instanceof OAuthError ? error.description : 'the token is invalid'
    const reason = error instanceof OAuthError ? (error.reason ?? error.code) : 'unverifiable'
    throw new InvalidToken(description, options(request, reason, error))
  }
  const resource = checkResource(verified, request)

  let revoked: boolean
  try {
    revoked = await verifier.isRevoked(verified)
  } catch (error) {
    throw new TokenCheckUnavailable(
      'the token could not be checked',
      options(request, 'revocation_check_failed', error)
    )
  }
  if (revoked) throw new InvalidToken('the access token was revoked', options(request, 'revoked'))
  return checkGrant(verified, resource, request)
}

/** The request names a resource we protect, and the token was issued for it (`aud`). */
function checkResource(token: VerifiedToken, request: AccessRequest): ProtectedResource {
  const { resource } = request
  if (!resource) {
    throw new InvalidToken(
      'the request is not for a known resource',
      options(request, 'unknown_resource')
    )
  }
  if (!token.audience.some((aud) => sameResource(aud, resource.resource))) {
    throw new InvalidToken(
      'the access token is not for this resource',
      options(request, 'audience')
    )
  }
  return resource
}

/** The service's policy admits the user, and the token has the scopes the service requires. */
function checkGrant(
  token: VerifiedToken,
  resource: ProtectedResource,
  request: AccessRequest
): VerifiedToken {
  if (!admits(resource, token)) {
    throw new AccessDenied(
      'this account may not use this service',
      options(request, 'service_policy')
    )
  }
  const required = resource.service.requiredScopes
  if (!required.every((scope) => token.scopes.has(scope))) {
    throw new InsufficientScope(
      'the access token lacks a scope this service requires',
      required.join(' '),
      options(request, 'scope')
    )
  }
  return token
}

function options(request: AccessRequest, reason: string, cause?: unknown) {
  const scope = request.resource?.service.requiredScopes.join(' ')
  return {
    reason,
    cause,
    ...(request.resourceMetadata === undefined
      ? {}
      : { resourceMetadata: request.resourceMetadata }),
    ...(scope ? { resourceScope: scope } : {}),
  }
}

/**
 * The per-service policy: `*`, a listed user (by the token's `sub`, GitHub's numeric id, or its
 * `login`), or membership of a listed organisation.
 */
function admits(resource: ProtectedResource, token: VerifiedToken): boolean {
  if (resource.allowedUsers === '*') return true
  if (listsUser(resource.allowedUsers, { id: token.userId, login: token.login })) return true
  const orgs = new Set(token.orgs.map((org) => org.toLowerCase()))
  return resource.allowedOrgs.some((org) => orgs.has(org.toLowerCase()))
}

/** Resource identifiers compare as everywhere else (`canonicalResource`); equal ones at once. */
function sameResource(a: string, b: string): boolean {
  return a === b || canonicalResource(a) === canonicalResource(b)
}
