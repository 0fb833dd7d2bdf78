import { z } from 'zod'
import type { ClientRecord } from '../../clients/client-registry.ts'
import type { AuthDeps } from '../../deps.ts'
import { InvalidGrant, InvalidScope, TemporarilyUnavailable } from '../../errors.ts'
import { optionalParam, parseParams, requiredParam } from '../../http/params.ts'
import { namedResources, narrowResources } from '../../oauth/resource.ts'
import { isFamilyRevoked, tokenLifetimes } from '../../oauth/revocation.ts'
import { grantedScopes, isSubset, OFFLINE_ACCESS, parseScope } from '../../oauth/scope.ts'
import { hashSecret } from '../../oauth/secrets.ts'
import { keys } from '../../store/keys.ts'
import { recheckUser } from '../../users/recheck-user.ts'
import { reuseDetectedAbout, revokeRefreshFamily } from '../family-revocation.ts'
import { rotateRefreshToken } from '../refresh-rotation.ts'
import { lookUpRefreshToken } from '../refresh-token-lookup.ts'
import { findRefreshFamily, type RefreshFamily } from '../refresh-tokens.ts'
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
    const { revokedNow, family } = await revokeRefreshFamily(store, familyId, lifetimes)
    // Recorded once per family: further replays, parallel or later, find it revoked already.
    if (revokedNow) {
      await audit.record({
        event: 'refresh_token.reuse_detected',
        ...reuseDetectedAbout(family, client),
        family_id: familyId,
      })
    }
    return invalid(reason)
  }
  /** What this request may have of a family's grant: less, never more. */
  const requestedScopes = parseScope(scope).filter((scope) => scope !== OFFLINE_ACCESS)
  const narrowed = (family: RefreshFamily) => {
    if (!isSubset(requestedScopes, family.scopes)) {
      throw new InvalidScope('a refresh may not ask for scopes beyond the original grant')
    }
    const resources = narrowResources(
      requestedResources,
      family.resources,
      'the resource was not part of the original grant'
    )
    const granted = resources.length > 0 ? resources : family.resources
    if (requestedScopes.length === 0) return { scopes: family.scopes, resources: granted }
    // Narrowed as a grant is decided (the resources' required scopes always come along), and
    // never past what the family was granted.
    const named = namedResources(granted, config.protectedResources)
    const scopes = grantedScopes(scope, named).filter((scope) => family.scopes.includes(scope))
    return { scopes, resources: granted }
  }
  /** The user as the identity provider sees them now; refused, the family goes. */
  const recheckedSubject = async (family: RefreshFamily) => {
    const check = await recheckUser(
      deps,
      family.subject,
      { event: 'refresh_denied' },
      { reuseRecent: true, deferApart: true }
    )
    if (check.allowed) return check.subject
    // Another replica judging the user by other settings may let them in: revoking would be a
    // verdict no replica can take back, so the client is asked to come again (after the rollout,
    // or on that replica).
    if (check.deferred) {
      deps.logger.warn(
        { event: 'refresh_deferred', user_id: family.subject.id, family_id: family.familyId },
        'the user would be refused, but another replica has other allow-lists or GitHub App settings: the family is kept and the refresh answered 503'
      )
      throw new TemporarilyUnavailable(
        "the gateway's replicas do not agree on who may use it yet; retry shortly"
      )
    }
    const { revokedNow } = await revokeRefreshFamily(store, family.familyId, lifetimes)
    if (revokedNow) {
      await audit.record({
        event: 'token.refresh_refused',
        user: family.subject,
        client,
        family_id: family.familyId,
        // The allow-list's own word when it refused (`not_in_allowed_team`, …).
        reason: check.policyReason ?? check.reason,
      })
    }
    throw invalid('user_no_longer_allowed')
  }
  /**
   * The token was replaced by a rotation moments ago (a parallel request), or by one whose answer
   * never reached its client (`unconfirmed`): the same successor again.
   */
  const reissue = async (rotation: {
    familyId: string
    successor: string
    unconfirmed?: boolean
  }) => {
    const family = await findRefreshFamily(store, rotation.familyId)
    if (!family || (await isFamilyRevoked(store, rotation.familyId))) {
      throw invalid('family_revoked')
    }
    if (family.clientId !== client.client_id) throw invalid('refresh_token_of_another_client')
    const granted = narrowed(family)
    // Past the grace, the rotation's re-check of the user is too old to believe.
    const subject = rotation.unconfirmed ? await recheckedSubject(family) : family.subject
    // Handed out only once the rotation has reached a replica (Sentinel): lengthening the live
    // token's life is a write, which the store confirms with everything written before it.
    await store.expire(keys.refreshToken(hashSecret(rotation.successor)), lifetimes.refreshTokenTtl)
    await audit.record({
      event: 'token.refreshed',
      user: subject,
      client,
      scope: granted.scopes.join(' '),
      family_id: family.familyId,
      ...(rotation.unconfirmed ? { unconfirmed_rotation: true } : { reuse_grace: true }),
    })
    return tokenResponse(deps, {
      clientId: client.client_id,
      subject,
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

  const subject = await recheckedSubject(family)
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
