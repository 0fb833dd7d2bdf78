import type { Context } from 'hono'
import type { AuthDeps } from '../deps.ts'
import { AccessDenied, AuthorizationErrorPage } from '../errors.ts'
import type { TokenSubject } from '../oauth/access-token.ts'
import { allowListRefusal, gatewayAllowList } from '../policy/allow-list.ts'
import { refuseSignIn } from '../users/sign-in-refusal.ts'

/**
 * The end of a sign-in started on `/account`: the callback has started the browser session if
 * the allow-list admits the user; the browser goes back to the page. Someone refused gets the
 * error page, as at the end of an authorization with no client to return to. The list is the
 * whole gateway list (teams included), the one the callback judged by.
 */
export async function completeAccountSignIn(
  c: Context,
  deps: AuthDeps,
  subject: TokenSubject
): Promise<Response> {
  const { config } = deps
  const refusal = allowListRefusal(subject, gatewayAllowList(config))
  if (refusal) {
    await refuseSignIn(deps, {
      event: 'login_denied',
      flow: 'account',
      user: { id: subject.id, login: subject.login },
      reason: refusal,
    })
    throw new AuthorizationErrorPage(
      new AccessDenied(`${subject.login} is not allowed to use this gateway`)
    )
  }
  return c.body(null, 303, { Location: `${config.issuer}/account`, 'Cache-Control': 'no-store' })
}
