import type { Context } from 'hono'
import type { AuthDeps } from '../deps.ts'
import { AuthorizationErrorPage } from '../errors.ts'
import type { TokenSubject } from '../oauth/access-token.ts'
import { refuseUnlessAllowed } from '../users/sign-in-refusal.ts'

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
  const refused = await refuseUnlessAllowed(deps, subject, 'account')
  if (refused) throw new AuthorizationErrorPage(refused)
  return c.body(null, 303, {
    Location: `${deps.config.issuer}/account`,
    'Cache-Control': 'no-store',
  })
}
