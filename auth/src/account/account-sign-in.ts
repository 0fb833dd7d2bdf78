import type { Context } from 'hono'
import type { AuthDeps } from '../deps.ts'
import { AccessDenied, AuthorizationErrorPage } from '../errors.ts'
import type { TokenSubject } from '../oauth/access-token.ts'
import { isAllowed } from '../policy/allow-list.ts'

/**
 * The end of a sign-in started on `/account`: the callback has started the browser session if
 * the allow-list admits the user; the browser goes back to the page. Someone refused gets the
 * error page, as at the end of an authorization with no client to return to.
 */
export function completeAccountSignIn(c: Context, deps: AuthDeps, subject: TokenSubject): Response {
  const { config, logger } = deps
  if (!isAllowed(subject, { users: config.allowedUsers, orgs: config.allowedOrgs })) {
    logger.warn({
      event: 'login_denied',
      user_id: subject.id,
      login: subject.login,
      flow: 'account',
    })
    throw new AuthorizationErrorPage(
      new AccessDenied(`${subject.login} is not allowed to use this gateway`)
    )
  }
  return c.body(null, 303, { Location: `${config.issuer}/account`, 'Cache-Control': 'no-store' })
}
