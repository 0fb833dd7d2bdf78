import { z } from 'zod'
import type { ClientRecord } from '../../clients/client-registry.ts'
import type { AuthDeps } from '../../deps.ts'
import { InvalidGrant, InvalidScope } from '../../errors.ts'
import { optionalParam, parseParams, requiredParam } from '../../http/params.ts'
import { narrowResources } from '../../oauth/resource.ts'
import { isFamilyRevoked, tokenLifetimes } from '../../oauth/revocation.ts'
import { OFFLINE_ACCESS, parseScope } from '../../oauth/scope.ts'
import { recheckUser } from '../../users/recheck-user.ts'
import { rotateRefreshToken } from '../refresh-rotation.ts'
import {
  findRefreshFamily,
  lookUpRefreshToken,
  type RefreshFamily,
  revokeRefreshFamily,
} from '../refresh-tokens.ts'
import { type TokenResponse, tokenResponse } from '../token-response.ts'

/** OAuth 2.1 §4.3 refresh request parameters (client authentication is already done). */
const refreshRequest = z.object({ refresh_token: requiredParam(256), scope: optionalParam(1000) })

/**
 * OAuth 2.1 §4.3: a new access token and a new refresh token for a live one. A replaced refresh
 * token presented again revokes the family, unless it comes back within the reuse grace
 * (`REFRESH_TOKEN_REUSE_GRACE`): then it gets the same successor, and a new access token. Before
 * anything is used up, the user is read again upstream (at most once per user per
 * `USER_RECHECK_INTERVAL`), so someone removed from the allow-list, an organisation or a team is
 * cut off within that interval; a redemption within the grace repeats a rotation that did so at
 * most that many seconds earlier, and skips it.
 */
export async function refreshTokenGrant(
  deps: AuthDeps,
  client: ClientRecord,
  form: Readonly<Record<string, string>>,
  requestedResources: readonly string[]
): Promise<TokenResponse> {
  const { config, store, clock, audit } = deps
  const { refresh_token: presented, scope } = parseParams(refreshRequest, form)
  const lifetimes = tokenLifetimes(config)
  const grace = { clock, seconds: config.refreshTokenReuseGrace }
  const invalid = (reason: string) =>
    new InvalidGrant('the refresh token is invalid, expired or revoked', { reason })
  /** A replaced refresh token came back: it leaked, so its whole family goes. */
  const refuseReuse = async (familyId: string, reason: string) => {
    const family = await findRefreshFamily(store, familyId)
    await revokeRefreshFamily(store, familyId, lifetimes)
    await audit.record({
      event: 'refresh_token.reuse_detected',
      user: family?.subject,
      client,
      family_id: familyId,
    })
    return invalid(reason)
  }
  /** What this request may have of a family's grant: less, never more. */
  const requestedScopes = parseScope(scope).filter((scope) => scope !== OFFLINE_ACCESS)
  const narrowed = (family: RefreshFamily) => {
    if (!requestedScopes.every((scope) => family.scopes.includes(scope))) {
      throw new InvalidScope('a refresh may not ask for scopes beyond the original grant')
    }
    const resources = narrowResources(
      requestedResources,
      family.resources,
      'the resource was not part of the original grant'
    )
    return {
      scopes: requestedScopes.length > 0 ? requestedScopes : family.scopes,
      resources: resources.length > 0 ? resources : family.resources,
    }
  }
  /** The token was replaced moments ago by a parallel request: the same successor again. */
  const reissue = async (rotation: { familyId: string; successor: string }) => {
    const family = await findRefreshFamily(store, rotation.familyId)
    if (!family || (await isFamilyRevoked(store, rotation.familyId))) {
      throw invalid('family_revoked')
    }
    if (family.clientId !== client.client_id) throw invalid('refresh_token_of_another_client')
    const granted = narrowed(family)
    await audit.record({
      event: 'token.refreshed',
      user: family.subject,
      client,
      scope: granted.scopes.join(' '),
      family_id: family.familyId,
      reuse_grace: true,
    })
    return tokenResponse(deps, {
      clientId: client.client_id,
      subject: family.subject,
      ...granted,
      familyId: family.familyId,
      refreshToken: rotation.successor,
    })
  }

  const lookup = await lookUpRefreshToken(store, presented, grace)
  if (lookup.outcome === 'unknown') throw invalid('unknown_refresh_token')
  if (lookup.outcome === 'reused') throw await refuseReuse(lookup.familyId, 'refresh_token_reused')
  if (lookup.outcome === 'just_rotated') return reissue(lookup)
  const { family } = lookup
  if (family.clientId !== client.client_id) throw invalid('refresh_token_of_another_client')
  if (lookup.aheadOfStore) {
    deps.logger.warn({
      event: 'refresh_token_ahead_of_store',
      client_id: client.client_id,
      family_id: family.familyId,
      detail:
        'a restored backup predates the rotation that issued this refresh token: it refreshes as the live one, once',
    })
  }
  // A family revoked while it was being created (a code replay racing its redemption).
  if (lookup.revoked) throw invalid('family_revoked')
  const granted = narrowed(family)

  const check = await recheckUser(
    deps,
    family.subject,
    { event: 'refresh_denied' },
    { reuseRecent: true }
  )
  if (!check.allowed) {
    await revokeRefreshFamily(store, family.familyId, lifetimes)
    await audit.record({
      event: 'token.refresh_refused',
      user: family.subject,
      client,
      family_id: family.familyId,
      // The allow-list's own word when it refused (`not_in_allowed_team`, …).
      reason: check.policyReason ?? check.reason,
    })
    throw invalid('user_no_longer_allowed')
  }
  const { subject } = check
  const refreshToken = await rotateRefreshToken(store, family, presented, {
    ttl: lifetimes,
    subject,
    grace,
    aheadOfStore: lookup.aheadOfStore === true,
  })
  if (!refreshToken) {
    // Another request rotated it between the lookup and now: a parallel session within the
    // grace, else the same token used twice.
    const raced = await lookUpRefreshToken(store, presented, grace)
    if (raced.outcome === 'just_rotated') return reissue(raced)
    throw await refuseReuse(family.familyId, 'refresh_token_raced')
  }
  await audit.record({
    event: 'token.refreshed',
    user: subject,
    client,
    scope: granted.scopes.join(' '),
    family_id: family.familyId,
  })
  return tokenResponse(deps, {
    clientId: client.client_id,
    subject,
    ...granted,
    familyId: family.familyId,
    refreshToken,
  })
}
