import { randomUUID } from 'node:crypto'
import { type Clock, epochSeconds } from '../clock.ts'
import { signCompactJws } from '../keys/compact-jws.ts'
import type { SigningKeys } from '../keys/signing-keys.ts'

/** RFC 9068 §2.1: the JOSE `typ` of JWT access tokens. */
export const ACCESS_TOKEN_TYPE = 'at+jwt'

/** Who the token is about: the GitHub user, as the gateway injects it downstream. */
export interface TokenSubject {
  /** GitHub's numeric user id, as a string (the stable `sub`). */
  readonly id: string
  readonly login: string
  readonly name?: string
  readonly email?: string
  /** The organisations named in the gateway's policies that the user is an active member of. */
  readonly orgs?: readonly string[]
  /** The teams of `ALLOWED_GITHUB_TEAMS` the user is a member of (`org/team-slug`, lower-cased). */
  readonly teams?: readonly string[]
}

/**
 * The claims of our access tokens (RFC 9068 §2.2 plus what `/verify` injects downstream).
 * `fam` names the refresh token family the token was issued from, so revoking the family revokes
 * its access tokens too.
 */
export interface AccessTokenClaims {
  readonly iss: string
  readonly sub: string
  readonly aud: string | string[]
  readonly client_id: string
  readonly scope: string
  readonly jti: string
  readonly iat: number
  readonly exp: number
  readonly login: string
  readonly name?: string
  readonly email?: string
  readonly orgs?: readonly string[]
  /** The teams of `ALLOWED_GITHUB_TEAMS` the user is in: `/verify` judges the allow-list by them. */
  readonly teams?: readonly string[]
  readonly fam?: string
}

export interface AccessTokenRequest {
  readonly issuer: string
  readonly subject: TokenSubject
  readonly clientId: string
  /** The protected resource(s) the token is for (RFC 8707): its `aud`. */
  readonly audience: readonly string[]
  readonly scope: string
  readonly ttlSeconds: number
  readonly familyId?: string
}

export interface IssuedAccessToken {
  readonly token: string
  readonly claims: AccessTokenClaims
}

export async function issueAccessToken(
  request: AccessTokenRequest,
  signingKeys: SigningKeys,
  clock: Clock
): Promise<IssuedAccessToken> {
  const iat = epochSeconds(clock)
  // `expires_in` promises the whole lifetime from now: counted from the next whole second, the
  // token is never refused before it (it may live up to a second longer than the setting).
  const exp = Math.ceil(clock.now() / 1000) + request.ttlSeconds
  const aud =
    request.audience.length === 1 ? (request.audience[0] as string) : [...request.audience]
  const claims: AccessTokenClaims = {
    iss: request.issuer,
    sub: request.subject.id,
    aud,
    client_id: request.clientId,
    scope: request.scope,
    jti: randomUUID(),
    iat,
    exp,
    login: request.subject.login,
    ...(request.subject.name ? { name: request.subject.name } : {}),
    ...(request.subject.email ? { email: request.subject.email } : {}),
    ...(request.subject.orgs?.length ? { orgs: [...request.subject.orgs] } : {}),
    ...(request.subject.teams?.length ? { teams: [...request.subject.teams] } : {}),
    ...(request.familyId ? { fam: request.familyId } : {}),
  }
  const key = signingKeys.current()
  const token = signCompactJws(
    { alg: key.alg, kid: key.kid, typ: ACCESS_TOKEN_TYPE },
    claims,
    key.privateKey
  )
  return { token, claims }
}
