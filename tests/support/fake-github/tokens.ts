import { createHash, randomBytes } from 'node:crypto'

// What the fake's token endpoint hands out and checks: codes, tokens and their lifetimes.

export type RevokeReason = 'user' | 'app' | 'token-limit'

/** An access token the fake issued (`gho_…`), with its refresh token in expiring mode. */
export interface FakeGitHubToken {
  readonly token: string
  readonly login: string
  readonly scopes: readonly string[]
  readonly issuedAt: number
  /** `null` for GitHub's default non-expiring tokens. */
  readonly expiresAt: number | null
  readonly refreshToken: string | null
  readonly refreshExpiresAt: number | null
  /** Set once the refresh token was used (it rotates). */
  refreshUsed: boolean
  revoked: RevokeReason | null
}

export interface PendingCode {
  login: string
  scopes: string[]
  offline: boolean
  redirectUri: string | null
  challenge: string | null
  issuedAt: number
  used: boolean
}

export type TokenError =
  | 'incorrect_client_credentials'
  | 'redirect_uri_mismatch'
  | 'bad_verification_code'
  | 'bad_refresh_token'
  | 'unsupported_grant_type'

export const CODE_TTL_MS = 10 * 60_000
export const ACCESS_TTL_S = 28_800
export const REFRESH_TTL_S = 15_897_600
/** GitHub keeps at most ten tokens per user, app and scope set; it revokes the oldest beyond. */
export const TOKENS_PER_SCOPE_SET = 10

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'

/** `length` characters of [0-9A-Za-z], the alphabet of GitHub's tokens. */
export function randomBase62(length: number): string {
  return [...randomBytes(length)].map((byte) => BASE62[byte % 62]).join('')
}

/** PKCE S256: the verifier is well-formed and hashes to the challenge. */
export function verifierMatches(verifier: string | undefined, challenge: string): boolean {
  if (verifier === undefined || !/^[A-Za-z0-9\-._~]{43,128}$/.test(verifier)) return false
  return createHash('sha256').update(verifier).digest('base64url') === challenge
}
