import type { TokenSubject } from '../oauth/access-token.ts'

/**
 * The identity provider users sign in with. GitHub today (`github.ts`); the interface is what an
 * OIDC provider would implement too.
 */
export interface Upstream {
  /** Where the browser goes to sign in; `redirectUri` is our callback. */
  authorizationUrl(request: UpstreamAuthorizationRequest): URL
  /** Finishes a sign-in from the callback URL the browser came back with. */
  completeLogin(request: UpstreamCallback): Promise<UpstreamLogin>
  /**
   * Reads the user again with a grant kept from sign-in (used on refresh, to notice someone
   * who left an organisation). Throws `UpstreamGrantRevoked` when the grant no longer works.
   */
  currentSubject(grant: UpstreamGrant): Promise<TokenSubject>
}

export interface UpstreamAuthorizationRequest {
  readonly state: string
  readonly codeChallenge: string
  readonly redirectUri: string
}

export interface UpstreamCallback {
  readonly callbackUrl: URL
  readonly expectedState: string
  readonly codeVerifier: string
  readonly redirectUri: string
}

/** The upstream's own tokens for a user (kept encrypted, see `upstream-grants.ts`). */
export interface UpstreamGrant {
  readonly accessToken: string
  readonly refreshToken?: string
  /** Seconds since the epoch. */
  readonly expiresAt?: number
}

export interface UpstreamLogin {
  readonly subject: TokenSubject
  readonly grant: UpstreamGrant
}

/** The user refused at the provider, or the provider refused the app. */
export class UpstreamDenied extends Error {
  override readonly name = 'UpstreamDenied'
}

/**
 * The provider refused the code the browser brought back (wrong, expired or already used): the
 * caller's fault, not an outage, so the user is told to start again.
 */
export class UpstreamCodeRejected extends Error {
  override readonly name = 'UpstreamCodeRejected'
}

/** The kept grant was revoked or expired at the provider: the user must sign in again. */
export class UpstreamGrantRevoked extends Error {
  override readonly name = 'UpstreamGrantRevoked'
}

/** The provider misbehaved or could not be reached. */
export class UpstreamFailure extends Error {
  override readonly name = 'UpstreamFailure'
}
