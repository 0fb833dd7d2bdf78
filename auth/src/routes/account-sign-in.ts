import { Hono } from 'hono'
import { hasUpstream, redirectToUpstream } from '../authorization/upstream-sign-in.ts'
import type { AuthDeps } from '../deps.ts'
import { AuthorizationErrorPage, TemporarilyUnavailable } from '../errors.ts'
import { cookies } from '../http/cookies.ts'
import { readOwnForm } from '../http/csrf.ts'

/**
 * `POST /account/sign-in`: the sign-in button of the signed-out `/account` page. The browser goes
 * to the identity provider and, through `/callback`, back to `/account` with a session.
 */
export const accountSignInRoute = (deps: AuthDeps) => {
  const jar = cookies(deps.config.issuer)
  return new Hono().post('/account/sign-in', async (c) => {
    await readOwnForm(c, jar, deps.config.issuer, [])
    if (!hasUpstream(deps)) {
      throw new AuthorizationErrorPage(
        new TemporarilyUnavailable('no identity provider is configured on this gateway')
      )
    }
    return redirectToUpstream(c, deps, { kind: 'account' })
  })
}
