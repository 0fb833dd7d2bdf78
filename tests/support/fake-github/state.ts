import { randomBytes } from 'node:crypto'
import { FakeRepositories } from './repositories.ts'
import { normalizeScopes } from './scopes.ts'
import {
  ACCESS_TTL_S,
  CODE_TTL_MS,
  type FakeGitHubToken,
  type PendingCode,
  REFRESH_TTL_S,
  type RevokeReason,
  randomBase62,
  TOKENS_PER_SCOPE_SET,
  type TokenError,
  verifierMatches,
} from './tokens.ts'
import type {
  FakeGitHubUser,
  FakeGitHubUserInput,
  OrgRole,
  OrgState,
  TeamRole,
  TeamState,
} from './users.ts'

/** The fake's mutable world: users, codes, tokens and the registered OAuth App. */
export class FakeGitHubState {
  readonly clientId: string
  readonly clientSecret: string
  callbackUrl: string | null
  readonly now: () => number
  readonly expiringTokens: boolean
  readonly users = new Map<string, FakeGitHubUser>()
  readonly tokens = new Map<string, FakeGitHubToken>()
  readonly repositories = new FakeRepositories()
  signedIn: string | null = null
  nextGrantOverride: string[] | null = null
  denyNext = false
  rateLimited: 403 | 429 | null = null
  /** Only REST calls to this path are limited (a limit reached in the middle of a sign-in). */
  rateLimitedPath: string | null = null
  /** How long every REST call waits before it is answered. */
  latencyMs = 0
  readonly #codes = new Map<string, PendingCode>()
  /** Scopes each user last granted the app (reused when `scope` is omitted). */
  readonly #grants = new Map<string, string[]>()
  readonly #apiCalls = new Map<string, number>()

  constructor(options: {
    clientId: string
    clientSecret: string
    callbackUrl: string | null
    now: () => number
    expiringTokens: boolean
  }) {
    this.clientId = options.clientId
    this.clientSecret = options.clientSecret
    this.callbackUrl = options.callbackUrl
    this.now = options.now
    this.expiringTokens = options.expiringTokens
  }

  addUser(input: FakeGitHubUserInput): FakeGitHubUser {
    const key = input.login.toLowerCase()
    if (this.users.has(key)) throw new Error(`fake GitHub: login ${input.login} exists`)
    if ([...this.users.values()].some((u) => u.id === input.id)) {
      throw new Error(`fake GitHub: user id ${input.id} exists`)
    }
    const email = input.email ?? null
    const primary = email ?? `${input.login.toLowerCase()}@example.com`
    const user: FakeGitHubUser = {
      id: input.id,
      login: input.login,
      name: input.name ?? null,
      email,
      emails: input.emails ?? [
        { email: primary, primary: true, verified: true, visibility: email ? 'public' : 'private' },
      ],
      orgs: new Map(),
      teams: new Map(),
    }
    this.users.set(key, user)
    for (const [org, membership] of Object.entries(input.orgs ?? {})) {
      this.setOrgMembership(input.login, org, membership)
    }
    for (const [team, membership] of Object.entries(input.teams ?? {})) {
      this.setTeamMembership(input.login, team, membership)
    }
    this.signedIn ??= key
    return user
  }

  user(login: string): FakeGitHubUser {
    const user = this.users.get(login.toLowerCase())
    if (!user) throw new Error(`fake GitHub: no user ${login}`)
    return user
  }

  setOrgMembership(
    login: string,
    org: string,
    membership: OrgState | { state: OrgState; role: OrgRole } | null
  ): void {
    const { orgs, teams } = this.user(login)
    if (membership === null) {
      orgs.delete(org.toLowerCase())
      for (const [key, team] of teams) {
        if (team.org.toLowerCase() === org.toLowerCase()) teams.delete(key)
      }
    } else if (typeof membership === 'string') {
      orgs.set(org.toLowerCase(), { org, state: membership, role: 'member' })
    } else orgs.set(org.toLowerCase(), { org, ...membership })
  }

  /**
   * Adds, changes or (with `null`) removes a team membership (`org/team-slug`). As on GitHub, a
   * team member is a member of the organisation too: an active team membership makes an absent
   * org membership active; removing someone from the organisation removes them from its teams.
   */
  setTeamMembership(
    login: string,
    team: string,
    membership: TeamState | { state: TeamState; role: TeamRole } | null
  ): void {
    const [org, slug, ...rest] = team.split('/')
    if (!org || !slug || rest.length > 0) throw new Error(`fake GitHub: ${team} is not org/slug`)
    const user = this.user(login)
    const key = `${org}/${slug}`.toLowerCase()
    if (membership === null) {
      user.teams.delete(key)
      return
    }
    const { state, role } =
      typeof membership === 'string' ? { state: membership, role: 'member' as const } : membership
    user.teams.set(key, { org, slug: slug.toLowerCase(), state, role })
    if (state === 'active' && !user.orgs.has(org.toLowerCase())) {
      this.setOrgMembership(login, org, 'active')
    }
  }

  /** The scopes a login grants: the requested ones, or the previous grant when none is asked. */
  grantedScopes(login: string, requested: string | undefined): string[] {
    const override = this.nextGrantOverride
    this.nextGrantOverride = null
    if (override) return normalizeScopes(override.join(' '))
    if (requested === undefined) return this.#grants.get(login.toLowerCase()) ?? []
    return normalizeScopes(requested.replaceAll('offline_access', ''))
  }

  issueCode(fields: Omit<PendingCode, 'issuedAt' | 'used'>): string {
    const code = randomBytes(10).toString('hex')
    this.#codes.set(code, { ...fields, issuedAt: this.now(), used: false })
    this.#grants.set(fields.login.toLowerCase(), fields.scopes)
    return code
  }

  /** Redeems a code once; any attempt that names a live code uses it up. */
  exchangeCode(
    code: string | undefined,
    redirectUri: string | undefined,
    verifier: string | undefined
  ): FakeGitHubToken | TokenError {
    const pending = code === undefined ? undefined : this.#codes.get(code)
    if (!pending || pending.used || this.now() - pending.issuedAt > CODE_TTL_MS) {
      return 'bad_verification_code'
    }
    pending.used = true
    if (redirectUri !== undefined && pending.redirectUri !== null) {
      if (redirectUri !== pending.redirectUri) return 'redirect_uri_mismatch'
    }
    if (pending.challenge !== null && !verifierMatches(verifier, pending.challenge)) {
      return 'bad_verification_code'
    }
    return this.issueToken(pending.login, pending.scopes, pending.offline || this.expiringTokens)
  }

  /** Rotates a refresh token (expiring mode): a fresh access and refresh token, same scopes. */
  refresh(refreshToken: string | undefined): FakeGitHubToken | TokenError {
    const old = [...this.tokens.values()].find((t) => t.refreshToken === refreshToken)
    if (!old || old.refreshUsed || old.revoked || (old.refreshExpiresAt ?? 0) <= this.now()) {
      return 'bad_refresh_token'
    }
    old.refreshUsed = true
    return this.issueToken(old.login, [...old.scopes], true)
  }

  issueToken(login: string, scopes: string[], expiring: boolean): FakeGitHubToken {
    const now = this.now()
    const token: FakeGitHubToken = {
      token: `gho_${randomBase62(36)}`,
      login: this.user(login).login,
      scopes,
      issuedAt: now,
      expiresAt: expiring ? now + ACCESS_TTL_S * 1000 : null,
      refreshToken: expiring ? `ghr_${randomBase62(76)}` : null,
      refreshExpiresAt: expiring ? now + REFRESH_TTL_S * 1000 : null,
      refreshUsed: false,
      revoked: null,
    }
    this.tokens.set(token.token, token)
    const sameSet = this.liveTokensOf(login).filter((t) => t.scopes.join() === scopes.join())
    for (const oldest of sameSet.slice(0, Math.max(0, sameSet.length - TOKENS_PER_SCOPE_SET))) {
      oldest.revoked = 'token-limit'
    }
    return token
  }

  /** A token that still works: issued here, not revoked, not expired. */
  liveToken(token: string): FakeGitHubToken | null {
    const found = this.tokens.get(token)
    if (!found || found.revoked) return null
    if (found.expiresAt !== null && found.expiresAt <= this.now()) return null
    return found
  }

  liveTokensOf(login: string): FakeGitHubToken[] {
    return [...this.tokens.values()]
      .filter((t) => t.login.toLowerCase() === login.toLowerCase() && this.liveToken(t.token))
      .sort((a, b) => a.issuedAt - b.issuedAt)
  }

  /** The user (or the app through the grant endpoint) withdraws the whole authorization. */
  revokeGrant(login: string, reason: RevokeReason): number {
    const live = this.liveTokensOf(login)
    for (const token of live) token.revoked = reason
    for (const token of this.tokens.values()) {
      if (token.login.toLowerCase() === login.toLowerCase()) token.refreshUsed = true
    }
    this.#grants.delete(login.toLowerCase())
    return live.length
  }

  /** Counts one REST call against the caller's hourly budget; returns the rate-limit headers. */
  countApiCall(key: string, limit: number): Record<string, string> {
    const hour = Math.floor(this.now() / 3_600_000)
    const slot = `${key}@${hour}`
    const used = Math.min(limit, (this.#apiCalls.get(slot) ?? 0) + 1)
    this.#apiCalls.set(slot, used)
    return {
      'x-ratelimit-limit': String(limit),
      'x-ratelimit-remaining': String(this.rateLimited ? 0 : limit - used),
      'x-ratelimit-used': String(this.rateLimited ? limit : used),
      'x-ratelimit-reset': String((hour + 1) * 3600),
      'x-ratelimit-resource': 'core',
    }
  }
}
