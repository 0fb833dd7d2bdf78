import type { Context } from 'hono'
import type { AuthDeps } from '../deps.ts'
import { AuthorizationErrorPage, OAuthError } from '../errors.ts'
import type { Cookies } from '../http/cookies.ts'
import type { TokenSubject } from '../oauth/access-token.ts'
import { tokenLifetimes } from '../oauth/revocation.ts'
import { findBrowserSession } from '../sessions/browser-session.ts'
import { recheckSessionUser } from '../sessions/session-user.ts'
import type { ConnectedAppsDeps } from './connected-apps.ts'

/**
 * The person a request to `/account` comes from: the browser session, read again upstream as
 * before anything is minted from it (`session-user.ts`), so a session of someone no longer
 * allowed shows nothing and is ended. Null when they must sign in (again).
 */
export async function accountUser(
  c: Context,
  deps: AuthDeps,
  jar: Cookies
): Promise<TokenSubject | null> {
  const session = await findBrowserSession(deps.store, jar.get(c, 'session'))
  if (!session) return null
  const user = await recheckSessionUser(c, deps, jar, session, { flow: 'account' }).catch(
    (error: unknown) => {
      throw error instanceof OAuthError ? new AuthorizationErrorPage(error) : error
    }
  )
  if (user.outcome === 'refused') throw new AuthorizationErrorPage(user.error)
  return user.outcome === 'allowed' ? user.subject : null
}

export function connectedAppsDeps(deps: AuthDeps): ConnectedAppsDeps {
  const { config, store, clock, audit } = deps
  return {
    store,
    clock,
    audit,
    clientLifetime: config.ttl.client,
    lifetimes: tokenLifetimes(config),
  }
}
