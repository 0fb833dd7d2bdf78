import type { UserDirectory } from '../../../mcp-services/src/user-directory.ts'
import { epochSeconds } from '../clock.ts'
import type { AuthDeps } from '../deps.ts'
import { freshUpstreamGrant } from '../upstream/fresh-grant.ts'
import { findCheckedUser } from './checked-users.ts'

/**
 * The user directory bridges read (`mcp-services/src/user-directory.ts`), answered from the
 * store: served over the internal API, and handed as is to the bridges of standalone mode.
 * A user is known while the gateway keeps their upstream grant and their last check let them in:
 * a refusal at a re-check, a revoked or unrenewable grant, or its expiry ends that.
 */
export function userDirectory(deps: AuthDeps): UserDirectory {
  const { store, clock, upstream } = deps
  return {
    async user(userId) {
      if (!upstream || !(await upstream.grants.find(userId))) return undefined
      return (await findCheckedUser(store, userId)) ?? undefined
    },
    async githubToken(userId) {
      // The development sign-in keeps a name, not a token anyone could act with.
      if (!upstream?.providerTokens) return undefined
      // Only for a user whose last check let them in (a refusal forgets the record).
      if (!(await findCheckedUser(store, userId))) return undefined
      const grant = await freshUpstreamGrant(deps, userId)
      if (!grant) return undefined
      return {
        access_token: grant.accessToken,
        token_type: 'bearer',
        ...(grant.expiresAt !== undefined
          ? { expires_in: Math.max(0, grant.expiresAt - epochSeconds(clock)) }
          : {}),
      }
    },
  }
}
