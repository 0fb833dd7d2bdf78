import { type JWTHeaderParameters, type JWTPayload, errors as joseErrors, jwtVerify } from 'jose'
import type { Clock } from '../clock.ts'
import type { Config } from '../config.ts'
import { InvalidToken, OAuthError } from '../errors.ts'
import type { SigningKeys } from '../keys/signing-keys.ts'
import { LruCache } from '../lru-cache.ts'
import { ACCESS_TOKEN_TYPE } from '../oauth/access-token.ts'
import { isRevoked } from '../oauth/revocation.ts'
import { gatewayAllowList, isAllowed } from '../policy/allow-list.ts'
import type { Store } from '../store/store.ts'

/** An access token whose signature, type, issuer and lifetime have been checked. */
export interface VerifiedToken {
  /** `sub`: the GitHub numeric user id. */
  readonly userId: string
  readonly login: string
  readonly name: string | undefined
  readonly email: string | undefined
  readonly orgs: readonly string[]
  /** `teams`: the user's teams among those `ALLOWED_GITHUB_TEAMS` names. */
  readonly teams: readonly string[]
  readonly clientId: string
  /** The `scope` claim as issued (space-separated). */
  readonly scope: string
  readonly scopes: ReadonlySet<string>
  /** `aud`: the resources the token was issued for. */
  readonly audience: readonly string[]
  readonly jti: string
  readonly familyId: string | undefined
  /** `exp`, in seconds since the epoch. */
  readonly expiresAt: number
}

export interface AccessTokenVerifierOptions {
  /** Verified tokens kept in memory (until they expire or are pushed out). Default 10,000. */
  readonly maxCachedTokens?: number
  /** How long a "not revoked" answer from the store is believed. Default 1,000 ms. */
  readonly revocationCacheMs?: number
  /** Minimum time between two key-ring reloads caused by an unknown `kid`. Default 5,000 ms. */
  readonly keyReloadIntervalMs?: number
  /** Longer bearer values are refused before any parsing. Default 8,192 characters. */
  readonly maxTokenLength?: number
  /**
   * Verify tokens of users the gateway's allow-list no longer admits too. Only for revocation: a
   * token refused for its user must still be revocable, or it would work again once the user is
   * allowed again.
   */
  readonly ofAnyUser?: boolean
}

export interface AccessTokenVerifierDeps {
  readonly config: Pick<Config, 'issuer' | 'allowedUsers' | 'allowedOrgs' | 'allowedTeams'>
  readonly store: Store
  readonly clock: Clock
  readonly signingKeys: SigningKeys
}

export interface AccessTokenVerifier {
  /**
   * Checks signature (by `kid`), `typ: at+jwt` (RFC 9068 §4), `iss`, `exp` and `nbf`, and the
   * claims the gateway needs. Results are cached per token until `exp`, so a token is parsed and
   * its signature checked once. Throws `InvalidToken`.
   */
  verify(token: string): Promise<VerifiedToken>
  /**
   * Whether the token, its refresh family or its client was revoked: one `MGET`, its "not
   * revoked" answer kept for `revocationCacheMs`, concurrent lookups for one token sharing a round
   * trip. Rejects when the store does not answer.
   */
  isRevoked(token: VerifiedToken): Promise<boolean>
  /** The cached result of `verify(token)` if there is one and it has not expired; no I/O. */
  cached(token: string): VerifiedToken | undefined
  /** The cached revocation state while it is still believed, else undefined; no I/O. */
  knownRevocation(token: VerifiedToken): boolean | undefined
}

const ALGORITHMS = ['RS256', 'ES256']

interface RevocationState {
  readonly revoked: boolean
  readonly checkedAt: number
}

export function createAccessTokenVerifier(
  deps: AccessTokenVerifierDeps,
  options: AccessTokenVerifierOptions = {}
): AccessTokenVerifier {
  const { clock, signingKeys, store } = deps
  const issuer = deps.config.issuer
  const maxCachedTokens = options.maxCachedTokens ?? 10_000
  const revocationCacheMs = options.revocationCacheMs ?? 1_000
  const keyReloadIntervalMs = options.keyReloadIntervalMs ?? 5_000
  const maxTokenLength = options.maxTokenLength ?? 8_192
  // The list as configured now: a user taken off it is refused from the next start on, not only
  // at the next refresh. Judged by the token's own claims (id, login, organisations, teams).
  const allowList = options.ofAnyUser ? undefined : gatewayAllowList(deps.config)

  // Keyed by the end of the signature: hashing 43 characters instead of the whole token on every
  // lookup; the entry holds the full token, compared on every hit.
  const tokens = new LruCache<string, { readonly token: string; readonly verified: VerifiedToken }>(
    maxCachedTokens
  )
  const lookup = (token: string) => {
    const entry = tokens.get(cacheKey(token))
    return entry?.token === token ? entry.verified : undefined
  }
  const revocations = new LruCache<string, RevocationState>(maxCachedTokens)
  const revocationLookups = new Map<string, Promise<boolean>>()
  let lastKeyReload = Number.NEGATIVE_INFINITY
  let keyReload: Promise<void> | undefined

  /** Re-reads the key ring at most once per interval; concurrent callers share one reload. */
  const reloadKeys = (): Promise<void> => {
    if (keyReload) return keyReload
    const now = clock.now()
    if (now - lastKeyReload < keyReloadIntervalMs) return Promise.resolve()
    lastKeyReload = now
    keyReload = signingKeys.reload().finally(() => {
      keyReload = undefined
    })
    return keyReload
  }

  const knownRevocation = (token: VerifiedToken): boolean | undefined => {
    const known = revocations.get(token.jti)
    if (known && (known.revoked || clock.now() - known.checkedAt < revocationCacheMs)) {
      return known.revoked
    }
    return undefined
  }

  const keyFor = async (header: JWTHeaderParameters) => {
    const kid = header.kid
    if (typeof kid !== 'string' || kid === '') {
      throw new InvalidToken('the access token is invalid', { reason: 'no_kid' })
    }
    let key = await signingKeys.publicKey(kid)
    if (!key) {
      await reloadKeys()
      key = await signingKeys.publicKey(kid)
    }
    if (!key) throw new InvalidToken('the access token is invalid', { reason: 'unknown_kid' })
    return key
  }

  return {
    async verify(token) {
      const now = clock.now()
      const cached = lookup(token)
      if (cached) {
        if (cached.expiresAt * 1000 > now) return cached
        tokens.delete(cacheKey(token))
        throw new InvalidToken('the access token has expired', { reason: 'expired' })
      }
      if (token.length > maxTokenLength) {
        throw new InvalidToken('the access token is invalid', { reason: 'too_long' })
      }
      let payload: JWTPayload
      try {
        ;({ payload } = await jwtVerify(token, keyFor, {
          issuer,
          typ: ACCESS_TOKEN_TYPE,
          algorithms: ALGORITHMS,
          currentDate: new Date(now),
          requiredClaims: ['exp', 'sub', 'jti'],
        }))
      } catch (cause) {
        throw new InvalidToken(
          cause instanceof joseErrors.JWTExpired
            ? 'the access token has expired'
            : 'the access token is invalid',
          { reason: reasonOf(cause), cause }
        )
      }
      const verified = toVerifiedToken(payload)
      if (allowList && !isAllowed(listedSubject(verified), allowList)) {
        throw new InvalidToken('the user of this access token may no longer use the gateway', {
          reason: 'user_not_allowed',
        })
      }
      tokens.set(cacheKey(token), { token, verified })
      return verified
    },

    cached(token) {
      const cached = lookup(token)
      return cached && cached.expiresAt * 1000 > clock.now() ? cached : undefined
    },

    knownRevocation,

    isRevoked(token) {
      const known = knownRevocation(token)
      if (known !== undefined) return Promise.resolve(known)
      let lookup = revocationLookups.get(token.jti)
      if (!lookup) {
        const checkedAt = clock.now()
        lookup = isRevoked(store, token)
          .then((revoked) => {
            // A revocation is final: it is remembered until the entry is pushed out.
            revocations.set(token.jti, { revoked, checkedAt })
            return revoked
          })
          .finally(() => revocationLookups.delete(token.jti))
        revocationLookups.set(token.jti, lookup)
      }
      return lookup
    },
  }
}

/** The last 43 characters: 256 bits of signature, distinct for every token we could have issued. */
function cacheKey(token: string): string {
  return token.length > 43 ? token.slice(-43) : token
}

function reasonOf(cause: unknown): string {
  if (cause instanceof OAuthError) return cause.reason ?? cause.code
  if (cause instanceof joseErrors.JOSEError) return cause.code
  return 'unreadable'
}

/** The claims we rely on, type-checked: a token signed by us but missing one is still refused. */
function toVerifiedToken(payload: JWTPayload): VerifiedToken {
  const sub = text(payload.sub)
  const jti = text(payload.jti)
  const clientId = text(payload.client_id)
  const login = text(payload.login)
  const scope = typeof payload.scope === 'string' ? payload.scope : undefined
  const audience = typeof payload.aud === 'string' ? [payload.aud] : payload.aud
  const orgs = payload.orgs ?? []
  const teams = payload.teams ?? []
  if (
    !sub ||
    !jti ||
    !clientId ||
    !login ||
    scope === undefined ||
    typeof payload.exp !== 'number' ||
    !Array.isArray(audience) ||
    !audience.every((entry) => typeof entry === 'string') ||
    !Array.isArray(orgs) ||
    !orgs.every((org) => typeof org === 'string') ||
    !Array.isArray(teams) ||
    !teams.every((team) => typeof team === 'string')
  ) {
    throw new InvalidToken('the access token is invalid', { reason: 'claims' })
  }
  return {
    userId: sub,
    login,
    name: text(payload.name),
    email: text(payload.email),
    orgs: orgs as string[],
    teams: teams as string[],
    clientId,
    scope,
    scopes: new Set(scope.split(' ').filter(Boolean)),
    audience,
    jti,
    familyId: text(payload.fam),
    expiresAt: payload.exp,
  }
}

function listedSubject(token: VerifiedToken) {
  return { id: token.userId, login: token.login, orgs: token.orgs, teams: token.teams }
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined
}
