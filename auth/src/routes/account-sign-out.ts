import { Hono } from 'hono'
import type { AuthDeps } from '../deps.ts'
import { cookies } from '../http/cookies.ts'
import { readOwnForm } from '../http/csrf.ts'
import { endBrowserSession } from '../sessions/browser-session.ts'

/**
 * `POST /account/sign-out`: ends the browser's session at the gateway (on a shared computer, the
 * next person would otherwise see and revoke these connections, and approve clients as this
 * user). Tokens already issued are not touched; the browser goes back to `/account`.
 */
export const accountSignOutRoute = (deps: AuthDeps) => {
  const { config, store, logger } = deps
  const jar = cookies(config.issuer)
  return new Hono().post('/account/sign-out', async (c) => {
    await readOwnForm(c, jar, config.issuer, [])
    const sessionId = jar.get(c, 'session')
    const ended = sessionId !== undefined && (await endBrowserSession(store, sessionId))
    jar.clear(c, 'session')
    // Only a session that was there: a form anyone can make up and post is no line of its own.
    if (ended) logger.info({ event: 'signed_out' })
    return c.body(null, 303, { Location: `${config.issuer}/account`, 'Cache-Control': 'no-store' })
  })
}
