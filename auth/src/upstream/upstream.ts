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
  currentSubject(grant: UpstreamGrant): Promise<UpstreamUser>
  /**
   * Exchanges the grant's refresh token for a fresh grant (expiring GitHub tokens); absent when
   * the provider's grants never expire. Throws `UpstreamGrantRevoked` when it is refused.
   */
  refreshGrant?(grant: UpstreamGrant): Promise<UpstreamGrant>
}

/**
 * The organisations and teams the user is an active member of, as far as the app may see them
 * (GitHub: `read:org`; organisations restricting OAuth Apps hide themselves), with the provider's
 * ids: the bridges' policies name them.
 */
export interface Memberships {
  readonly organizations: readonly MembershipOrganization[]
  readonly teams: readonly MembershipTeam[]
}

export interface MembershipOrganization {
  readonly id: number
  readonly login: string
}

export interface MembershipTeam {
  readonly id: number
  readonly slug: string
  readonly organization: MembershipOrganization
}

export const NO_MEMBERSHIPS: Memberships = Object.freeze({ organizations: [], teams: [] })

/** The user as the provider sees them now: who (for tokens) and their memberships. */
export interface UpstreamUser {
  readonly subject: TokenSubject
  readonly memberships: Memberships
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

export interface UpstreamLogin extends UpstreamUser {
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
