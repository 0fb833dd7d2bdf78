import { Hono } from 'hono'
import { accountUser, connectedAppsDeps } from '../account/account-session.ts'
import { listConnectedApps } from '../account/connected-apps.ts'
import type { AuthDeps } from '../deps.ts'
import { cookies } from '../http/cookies.ts'
import { issueFormToken } from '../http/csrf.ts'
import {
  ACCOUNT_NOTICES,
  type AccountNotice,
  renderAccountPage,
  renderAccountSignInPage,
} from '../pages/account-page.ts'

/**
 * `GET /account`: the connected-apps page of the signed-in person (the applications they
 * approved, their device sessions, each with a revoke button), or, signed out, a page with a
 * button to sign in upstream. Nothing redirects to the identity provider on a GET: a sign-in
 * starts only from our own form.
 */
export const accountRoute = (deps: AuthDeps) => {
  const { config } = deps
  const jar = cookies(config.issuer)
  const services = new Map(
    config.protectedResources.map((r) => [r.resource, r.service.description] as const)
  )
  const appsDeps = connectedAppsDeps(deps)

  return new Hono().get('/account', async (c) => {
    const user = await accountUser(c, deps, jar)
    const csrfToken = issueFormToken(c, jar)
    if (!user) {
      return renderAccountSignInPage(c, csrfToken, deps.upstream?.name ?? 'your identity provider')
    }
    // Shown once, after the revocation that set it (account-revoke.ts).
    const notice = jar.get(c, 'notice')
    if (notice !== undefined) jar.clear(c, 'notice')
    return renderAccountPage(c, {
      signedInAs: user.login,
      connected: await listConnectedApps(appsDeps, user.id),
      csrfToken,
      notice:
        notice !== undefined && Object.hasOwn(ACCOUNT_NOTICES, notice)
          ? (notice as AccountNotice)
          : undefined,
      services,
      issuer: deps.config.issuer,
    })
  })
}
