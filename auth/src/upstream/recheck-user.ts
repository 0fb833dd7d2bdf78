import type { AuthDeps } from '../deps.ts'
import { TemporarilyUnavailable } from '../errors.ts'
import type { TokenSubject } from '../oauth/access-token.ts'
import { isAllowed } from '../policy/allow-list.ts'
import { forgetCheckedUser, recordCheckedUser } from '../users/checked-users.ts'
import { freshUpstreamGrant } from './fresh-grant.ts'
import { UpstreamGrantRevoked, type UpstreamUser } from './upstream.ts'

/** Why a user signed in earlier may not be trusted now. */
export type RecheckRefusal = 'no_upstream_grant' | 'upstream_grant_revoked' | 'not_allowed'

export type Recheck =
  | { readonly allowed: true; readonly subject: TokenSubject }
  | { readonly allowed: false; readonly reason: RecheckRefusal }

/**
 * The user as the identity provider sees them now, read with the grant kept from their sign-in
 * and judged by the allow-list again: whatever trusts an earlier sign-in (a refresh token, a
 * remembered browser session) asks here before it mints anything. A refusal is logged as
 * `audit.event` with its reason; each check is recorded for the internal API (`checked-users.ts`). Concurrent checks of one user share one call upstream
 * (`coalesced-checks.ts`).
 *
 * @throws TemporarilyUnavailable when the provider cannot be reached: never a pass.
 */
export async function recheckUser(
  deps: AuthDeps,
  known: TokenSubject,
  audit: { readonly event: string } & Readonly<Record<string, unknown>>
): Promise<Recheck> {
  const { config, logger, upstream } = deps
  const allowList = { users: config.allowedUsers, orgs: config.allowedOrgs }
  const refuse = async (
    reason: RecheckRefusal,
    fields: Record<string, unknown> = {}
  ): Promise<Recheck> => {
    const line = { ...audit, reason, user_id: known.id, ...fields }
    if (reason === 'not_allowed') logger.warn(line)
    else logger.info(line)
    // The internal API stops answering for the user (and handing out their GitHub token).
    await forgetCheckedUser(deps.store, known.id)
    return { allowed: false, reason }
  }
  if (!upstream) {
    return isAllowed(known, allowList)
      ? { allowed: true, subject: known }
      : refuse('not_allowed', { login: known.login })
  }
  // An expiring token (a GitHub App's, or an OAuth App's that opted in) is renewed first.
  const grant = await freshUpstreamGrant(deps, known.id)
  if (!grant) return refuse('no_upstream_grant')
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
  if (subject.id !== known.id || !isAllowed(subject, allowList)) {
    return refuse('not_allowed', { login: subject.login })
  }
  await recordCheckedUser(deps.store, deps.clock, user, config.ttl.refreshToken)
  return { allowed: true, subject }
}
