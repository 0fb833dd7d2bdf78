import { Hono } from 'hono'
import { connectedAppsDeps } from '../account/account-session.ts'
import { revokeApp, revokeDeviceSession } from '../account/connected-apps.ts'
import type { AuthDeps } from '../deps.ts'
import { AccessDenied, AuthorizationErrorPage, InvalidRequest } from '../errors.ts'
import { cookies } from '../http/cookies.ts'
import { readOwnForm } from '../http/csrf.ts'
import { findBrowserSession } from '../sessions/browser-session.ts'

/**
 * `POST /account/revoke`: a revoke button of the connected-apps page. `kind=app` withdraws the
 * consent for a client and revokes every token family of this user with it; `kind=device` ends
 * one device-flow session. Only what the page lists for the signed-in user can be revoked. The
 * answer is a 303 back to the page, with which notice it shows in a cookie of a minute: a notice
 * named in the page's address could be put in a link, and tell of a revocation nobody made.
 *
 * Revoking only takes access away, so the session is not re-checked upstream first: a person can
 * disconnect an application while the identity provider is unreachable.
 */
export const accountRevokeRoute = (deps: AuthDeps) => {
  const { config, store } = deps
  const jar = cookies(config.issuer)
  const appsDeps = connectedAppsDeps(deps)

  return new Hono().post('/account/revoke', async (c) => {
    const form = await readOwnForm(c, jar, config.issuer, ['kind', 'id'])
    const user = await findBrowserSession(store, jar.get(c, 'session'))
    if (!user) {
      throw new AuthorizationErrorPage(
        new AccessDenied('you are signed out; open the connected-apps page and sign in again', {
          reason: 'no_session',
        })
      )
    }
    let revoked: boolean
    if (form.kind === 'app') revoked = await revokeApp(appsDeps, user, form.id)
    else if (form.kind === 'device') revoked = await revokeDeviceSession(appsDeps, user, form.id)
    else {
      throw new AuthorizationErrorPage(
        new InvalidRequest('this form was altered (an unknown kind); start again', {
          reason: 'unknown_revocation_kind',
        })
      )
    }
    jar.set(c, 'notice', revoked ? 'revoked' : 'gone', 60)
    return c.body(null, 303, { Location: `${config.issuer}/account`, 'Cache-Control': 'no-store' })
  })
}
