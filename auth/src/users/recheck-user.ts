import type { AuthDeps } from '../deps.ts'
import { TemporarilyUnavailable } from '../errors.ts'
import type { TokenSubject } from '../oauth/access-token.ts'
import {
  type AllowListRefusal,
  allowListRefusal,
  gatewayAllowList,
  namesUsersOnly,
} from '../policy/allow-list.ts'
import { USER_VERDICT_SETTINGS } from '../replicas/shared-settings.ts'
import { freshUpstreamGrant } from '../upstream/fresh-grant.ts'
import { UpstreamGrantRevoked, type UpstreamUser } from '../upstream/upstream.ts'
import { forgetCheckedUser, recordCheckedUser } from './checked-users.ts'

/** Why a user signed in earlier may not be trusted now. */
export type RecheckRefusal = 'no_upstream_grant' | 'upstream_grant_revoked' | 'not_allowed'

export type Recheck =
  | { readonly allowed: true; readonly subject: TokenSubject }
  | {
      readonly allowed: false
      readonly reason: RecheckRefusal
      /**
       * With `deferApart`: another running replica has other allow-lists or GitHub App settings
       * and may let the user in, so nothing was said or forgotten; the caller defers.
       */
      readonly deferred?: true
      /**
       * Which part of the allow-list refuses the user: with `not_allowed`, and with
       * `no_upstream_grant` when a list of users alone refuses them.
       */
      readonly policyReason?: AllowListRefusal | 'another_user'
    }

/**
 * The user as the identity provider sees them now, read with the grant kept from their sign-in
 * and judged by the allow-list again: whatever trusts an earlier sign-in (a refresh token, a
 * remembered browser session) asks here before it mints anything. A refusal is logged as
 * `audit.event` with its reason (and, for the allow-list, `policy_reason`); each check is
 * recorded for the internal API (`checked-users.ts`). Concurrent checks of one user share one
 * call upstream (`coalesced-checks.ts`).
 *
 * With `reuseRecent` (refreshes), a check that let the user in less than `USER_RECHECK_INTERVAL`
 * ago is believed instead of asking upstream again (`recent-checks.ts`), as long as the
 * allow-list still admits the subject it found; otherwise upstream is asked. With `deferApart`
 * (refreshes, whose refusal cannot be taken back), a refusal that another replica judging by
 * other settings might not make is only `deferred`; GitHub's own word (a revoked grant) is not.
 *
 * @throws TemporarilyUnavailable when the provider cannot be reached: never a pass.
 */
export async function recheckUser(
  deps: AuthDeps,
  known: TokenSubject,
  audit: { readonly event: string } & Readonly<Record<string, unknown>>,
  options: { readonly reuseRecent?: boolean; readonly deferApart?: boolean } = {}
): Promise<Recheck> {
  const { config, logger, upstream } = deps
  const allowList = gatewayAllowList(config)
  const refuse = async (
    reason: RecheckRefusal,
    fields: { login?: string; policyReason?: AllowListRefusal | 'another_user' } = {}
  ): Promise<Recheck> => {
    const judgedApart =
      options.deferApart === true &&
      reason !== 'upstream_grant_revoked' &&
      (await deps.replicas?.disagreesOn(USER_VERDICT_SETTINGS)) === true
    if (judgedApart) return { allowed: false, reason, deferred: true }
    const { login, policyReason } = fields
    const line = { ...audit, reason, user_id: known.id, login, policy_reason: policyReason }
    if (reason === 'not_allowed') logger.warn(line)
    else logger.info(line)
    // The internal API stops answering for the user (and handing out their GitHub token).
    await Promise.all([
      forgetCheckedUser(deps.store, known.id),
      upstream?.recentChecks.forget(known.id),
    ])
    return { allowed: false, reason, ...(policyReason ? { policyReason } : {}) }
  }
  if (!upstream) {
    const policyReason = allowListRefusal(known, allowList)
    return policyReason
      ? refuse('not_allowed', { login: known.login, policyReason })
      : { allowed: true, subject: known }
  }
  const interval = config.userRecheckInterval
  if (options.reuseRecent) {
    const recent = await upstream.recentChecks.find(known.id, interval)
    if (recent && !allowListRefusal(recent, allowList)) return { allowed: true, subject: recent }
  }
  // An expiring token (a GitHub App's, or an OAuth App's that opted in) is renewed first.
  const grant = await freshUpstreamGrant(deps, known.id)
  if (!grant) {
    // A refused sign-in removes the grant, so without one the list may still say why: when it
    // names users only, the subject alone decides (organisations and teams need the provider).
    // The refusal stays `no_upstream_grant`: a browser session is sent to sign in again (the
    // user may have been renamed into the list), a refresh names the list as the reason.
    const byName = namesUsersOnly(allowList) ? allowListRefusal(known, allowList) : undefined
    return refuse('no_upstream_grant', byName ? { policyReason: byName } : {})
  }
  let user: UpstreamUser
  try {
    user = await upstream.provider.currentSubject(grant)
  } catch (error) {
    if (error instanceof UpstreamGrantRevoked) return refuse('upstream_grant_revoked')
    throw new TemporarilyUnavailable(`${upstream.name} could not be reached to re-check the user`, {
      cause: error,
    })
  }
  const { subject } = user
  const policyReason =
    subject.id !== known.id ? 'another_user' : allowListRefusal(subject, allowList)
  if (policyReason) return refuse('not_allowed', { login: subject.login, policyReason })
  await Promise.all([
    recordCheckedUser(deps.store, deps.clock, user, config.ttl.refreshToken),
    upstream.recentChecks.record(subject, interval),
  ])
  return { allowed: true, subject }
}
