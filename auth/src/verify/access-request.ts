import type { ProtectedResource } from '../config.ts'
import {
  AccessDenied,
  InsufficientScope,
  InvalidToken,
  MissingToken,
  OAuthError,
  TokenCheckUnavailable,
} from '../errors.ts'
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
 * requires. Returns the verified token or throws `MissingToken`, `InvalidToken` (401),
 * `AccessDenied` or `InsufficientScope` (403), each naming the resource metadata URL.
 */
export async function verifyAccessRequest(
  verifier: AccessTokenVerifier,
  request: AccessRequest
): Promise<VerifiedToken> {
  const { resource } = request
  const options = (reason: string, cause?: unknown) => ({
    reason,
    cause,
    ...(request.resourceMetadata === undefined
      ? {}
      : { resourceMetadata: request.resourceMetadata }),
  })
  const authorization = request.authorization
  if (authorization === undefined || !BEARER_SCHEME.test(authorization)) {
    throw new MissingToken('a bearer token is required', options('no_bearer_token'))
  }
  const token = BEARER.exec(authorization)?.[1]
  if (token === undefined) {
    throw new InvalidToken('the authorization header is malformed', options('malformed_header'))
  }

  let verified: VerifiedToken
  try {
    verified = await verifier.verify(token)
  } catch (error) {
    const description = error instanceof OAuthError ? error.description : 'the token is invalid'
    const reason = error instanceof OAuthError ? (error.reason ?? error.code) : 'unverifiable'
    throw new InvalidToken(description, options(reason, error))
  }

  if (!resource) {
    throw new InvalidToken('the request is not for a known resource', options('unknown_resource'))
  }
  if (!verified.audience.some((aud) => sameResource(aud, resource.resource))) {
    throw new InvalidToken('the access token is not for this resource', options('audience'))
  }

  let revoked: boolean
  try {
    revoked = await verifier.isRevoked(verified)
  } catch (error) {
    throw new TokenCheckUnavailable(
      'the token could not be checked',
      options('revocation_check_failed', error)
    )
  }
  if (revoked) throw new InvalidToken('the access token was revoked', options('revoked'))

  if (!admits(resource, verified)) {
    throw new AccessDenied('this account may not use this service', options('service_policy'))
  }
  const required = resource.service.requiredScopes
  if (!required.every((scope) => verified.scopes.has(scope))) {
    throw new InsufficientScope(
      'the access token lacks a scope this service requires',
      required.join(' '),
      options('scope')
    )
  }
  return verified
}

/** The per-service policy: `*`, a listed login, or membership of a listed organisation. */
function admits(resource: ProtectedResource, token: VerifiedToken): boolean {
  if (resource.allowedUsers === '*') return true
  const login = token.login.toLowerCase()
  if (resource.allowedUsers.some((user) => user.toLowerCase() === login)) return true
  const orgs = new Set(token.orgs.map((org) => org.toLowerCase()))
  return resource.allowedOrgs.some((org) => orgs.has(org.toLowerCase()))
}

function sameResource(a: string, b: string): boolean {
  return a === b || a.replace(/\/+$/, '') === b.replace(/\/+$/, '')
}
