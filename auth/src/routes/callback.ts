import { Hono } from 'hono'
import { completeAuthorization } from '../authorization/complete-authorization.ts'
import { takePendingAuthorization } from '../authorization/pending-authorization.ts'
import type { AuthDeps } from '../deps.ts'
import {
  AccessDenied,
  AuthorizationErrorPage,
  AuthorizationErrorRedirect,
  InvalidRequest,
  TemporarilyUnavailable,
} from '../errors.ts'
import { cookies } from '../http/cookies.ts'
import { SESSION_TTL_SECONDS, startBrowserSession } from '../sessions/browser-session.ts'
import { UpstreamDenied, type UpstreamLogin } from '../upstream/upstream.ts'

/**
 * `GET /callback`: the identity provider sends the browser back here. The pending request must
 * have been started by this browser; the code is exchanged upstream, the user read, the
 * allow-list applied, and the client gets its own authorization code.
 */
export const callbackRoute = (deps: AuthDeps) => {
  const { config, store, logger } = deps
  const jar = cookies(config.issuer)

  return new Hono().get('/callback', async (c) => {
    const url = new URL(c.req.url)
    const state = url.searchParams.get('state') ?? ''
    const boundState = jar.get(c, 'pending')
    jar.clear(c, 'pending')
    if (!state || state !== boundState) {
      throw new AuthorizationErrorPage(
        new InvalidRequest(
          'this sign-in was not started in this browser, or it has expired; start again from the application',
          {
            reason: boundState ? 'state_mismatch' : 'no_pending_cookie',
          }
        )
      )
    }
    const pending = await takePendingAuthorization(store, state)
    if (!pending) {
      throw new AuthorizationErrorPage(
        new InvalidRequest(
          'this sign-in has expired or was already used; start again from the application'
        )
      )
    }
    const { request } = pending
    const login = await signIn(deps, url, state, pending.upstreamCodeVerifier, request)
    await deps.upstream?.grants.save(login.subject.id, login.grant, config.ttl.refreshToken)
    jar.set(c, 'session', await startBrowserSession(store, login.subject), SESSION_TTL_SECONDS)
    logger.info({
      event: 'login',
      user_id: login.subject.id,
      login: login.subject.login,
      client_id: request.clientId,
    })
    return completeAuthorization(c, deps, request, login.subject)
  })
}

async function signIn(
  deps: AuthDeps,
  callbackUrl: URL,
  state: string,
  codeVerifier: string,
  request: { redirectUri: string; state?: string }
): Promise<UpstreamLogin> {
  const upstream = deps.upstream
  const fail = (error: AccessDenied | TemporarilyUnavailable) =>
    new AuthorizationErrorRedirect(error, request.redirectUri, request.state)
  if (!upstream)
    throw fail(new TemporarilyUnavailable('no identity provider is configured on this gateway'))
  try {
    return await upstream.provider.completeLogin({
      callbackUrl,
      expectedState: state,
      codeVerifier,
      redirectUri: `${deps.config.issuer}/callback`,
    })
  } catch (error) {
    if (error instanceof UpstreamDenied) {
      throw fail(
        new AccessDenied(`the sign-in with ${upstream.name} was cancelled or refused`, {
          cause: error,
        })
      )
    }
    deps.logger.error({ event: 'upstream_failure', err: error }, 'sign-in upstream failed')
    throw fail(
      new TemporarilyUnavailable(`${upstream.name} could not complete the sign-in; try again`, {
        cause: error,
      })
    )
  }
}
