import type { AuthDeps } from '../deps.ts'
import { AuthorizationErrorPage } from '../errors.ts'
import type { TokenSubject } from '../oauth/access-token.ts'
import { refuseUnlessAllowed } from '../users/sign-in-refusal.ts'

/**
 * The end of a sign-in started on `/account`: the callback has started the browser session if
 * the allow-list admits the user, who then goes back to the page. Someone refused gets the error
 * page (thrown), as at the end of an authorization with no client to return to. The list is the
 * whole gateway list (teams included), the one the callback judged by.
 */
export async function completeAccountSignIn(deps: AuthDeps, subject: TokenSubject): Promise<void> {
  const refused = await refuseUnlessAllowed(deps, subject, 'account')
  if (refused) throw new AuthorizationErrorPage(refused)
}
