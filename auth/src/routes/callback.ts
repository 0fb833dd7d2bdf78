import { type Context, Hono } from 'hono'
import { completeAccountSignIn } from '../account/account-sign-in.ts'
import { namedClient } from '../audit/audit-client.ts'
import type { AuditClient, AuditFlow } from '../audit/audit-events.ts'
import { completeAuthorization } from '../authorization/complete-authorization.ts'
import {
  findPendingAuthorization,
  type PendingAuthorization,
  takePendingAuthorization,
} from '../authorization/pending-authorization.ts'
import type { AuthDeps } from '../deps.ts'
import { completeDeviceAuthorization } from '../device/complete-device-authorization.ts'
import { findByDeviceCodeHash } from '../device/device-authorization.ts'
import {
  AccessDenied,
  AuthorizationErrorPage,
  AuthorizationErrorRedirect,
  InvalidRequest,
  type OAuthError,
  TemporarilyUnavailable,
} from '../errors.ts'
import { cookies } from '../http/cookies.ts'
import { redirectWithCode } from '../http/redirect-to-client.ts'
import type { TokenSubject } from '../oauth/access-token.ts'
import { renderDeviceDonePage } from '../pages/device-pages.ts'
import { gatewayAllowList, isAllowed } from '../policy/allow-list.ts'
import { SESSION_TTL_SECONDS, startBrowserSession } from '../sessions/browser-session.ts'
import { UpstreamCodeRejected, UpstreamDenied, type UpstreamLogin } from '../upstream/upstream.ts'
import { forgetCheckedUser, recordCheckedUser } from '../users/checked-users.ts'

/**
 * `GET /callback`: the identity provider sends the browser back here. The pending request must
 * have been started by this browser; the code is exchanged upstream, the user read, and the
 * request finished: a code for the client, or the waiting device approved.
 */
export const callbackRoute = (deps: AuthDeps) => {
  const { config, store, logger } = deps
  const jar = cookies(config.issuer)

  return new Hono().get('/callback', async (c) => {
    const url = new URL(c.req.url)
    const state = url.searchParams.get('state') ?? ''
    const boundState = jar.get(c, 'pending')
    if (!state || state !== boundState) {
      jar.clear(c, 'pending')
      throw new AuthorizationErrorPage(
        new InvalidRequest(
          'this sign-in was not started in this browser, or it has expired; start again from the application',
          { reason: boundState ? 'state_mismatch' : 'no_pending_cookie' }
        )
      )
    }
    const expired = () => {
      jar.clear(c, 'pending')
      return new AuthorizationErrorPage(
        new InvalidRequest(
          'this sign-in has expired or was already used; start again from the application'
        )
      )
    }
    // Read here, taken once GitHub has signed the user in, and the cookie kept until then: a
    // store that failed on the way (an outage, a stall whose commands Redis runs late), or a
    // GitHub that failed before taking its code, leaves both, and reloading finishes the sign-in.
    const pending = await findPendingAuthorization(store, state)
    if (!pending) throw expired()
    const login = await signIn(deps, url, state, pending)
    // Of two callbacks with one state (two tabs), one goes on; GitHub's code is single-use too.
    if (!(await takePendingAuthorization(store, state))) throw expired()
    jar.clear(c, 'pending')
    // Someone the allow-list refuses leaves nothing behind: no kept GitHub token, no session;
    // what an earlier sign-in kept goes too, so the internal API stops answering for them.
    const allowed = isAllowed(login.subject, gatewayAllowList(config))
    if (!allowed) {
      await forgetCheckedUser(store, login.subject.id)
      await deps.upstream?.grants.remove(login.subject.id)
    }
    let client: AuditClient | undefined
    if (allowed) {
      await deps.upstream?.grants.save(login.subject.id, login.grant, config.ttl.refreshToken)
      await recordCheckedUser(store, deps.clock, login, config.ttl.refreshToken)
      jar.set(c, 'session', await startBrowserSession(store, login.subject), SESSION_TTL_SECONDS)
      client = await auditSignIn(deps, pending, login.subject)
    }
    logger.info({
      event: 'login',
      user_id: login.subject.id,
      login: login.subject.login,
      client_id: clientOf(pending),
    })
    const response = await finish(c, deps, pending, login)
    // Only once the code is issued or the approval recorded: a device answered meanwhile in
    // another tab, or a client deleted meanwhile, got no consent from this sign-in.
    if (allowed) await auditConsent(deps, pending, login.subject, client)
    return response
  })
}

async function finish(
  c: Context,
  deps: AuthDeps,
  pending: PendingAuthorization,
  login: UpstreamLogin
): Promise<Response> {
  if (pending.kind === 'authorization') {
    const code = await completeAuthorization(deps, pending.request, login.subject)
    return redirectWithCode(c, deps.config.issuer, pending.request, code)
  }
  if (pending.kind === 'account') {
    await completeAccountSignIn(deps, login.subject)
    return c.body(null, 303, {
      Location: `${deps.config.issuer}/account`,
      'Cache-Control': 'no-store',
    })
  }
  await completeDeviceAuthorization(deps, pending.deviceCodeHash, login.subject)
  return renderDeviceDonePage(c, true)
}

/** A sign-in the allow-list lets in, audited with the client it was for (returned, named). */
async function auditSignIn(
  deps: AuthDeps,
  pending: PendingAuthorization,
  user: TokenSubject
): Promise<AuditClient | undefined> {
  const clientId = clientOf(pending)
  const client = clientId ? await namedClient(deps.store, deps.clock, clientId) : undefined
  const upstream = deps.upstream?.name ?? 'none'
  await deps.audit.record({
    event: 'user.signed_in',
    user,
    client,
    flow: flowOf(pending),
    upstream,
  })
  return client
}

/**
 * An authorization or a device approved on the consent page before the user signed in, audited
 * as their consent now that the sign-in says who gave it.
 */
async function auditConsent(
  deps: AuthDeps,
  pending: PendingAuthorization,
  user: TokenSubject,
  client: AuditClient | undefined
) {
  if (pending.kind === 'account') return
  // A device's request is kept with its authorization (unless the device has redeemed it already).
  const request =
    pending.kind === 'authorization'
      ? pending.request
      : await findByDeviceCodeHash(deps.store, pending.deviceCodeHash)
  await deps.audit.record({
    event: 'authorization.consent_given',
    user,
    client,
    flow: flowOf(pending),
    ...(request ? { scope: request.scopes.join(' '), resource: request.resources } : {}),
    remembered: false,
  })
}

function flowOf(pending: PendingAuthorization): AuditFlow {
  return pending.kind === 'authorization' ? 'authorization_code' : pending.kind
}

function clientOf(pending: PendingAuthorization): string | undefined {
  if (pending.kind === 'account') return undefined
  return pending.kind === 'authorization' ? pending.request.clientId : pending.clientId
}

function clientRef(pending: PendingAuthorization): { client_id: string } | undefined {
  const clientId = clientOf(pending)
  return clientId ? { client_id: clientId } : undefined
}

/** Errors go back to the client when there is one to redirect to, else onto a page. */
function failure(pending: PendingAuthorization, error: OAuthError): Error {
  return pending.kind === 'authorization'
    ? new AuthorizationErrorRedirect(error, pending.request.redirectUri, pending.request.state)
    : new AuthorizationErrorPage(error)
}

async function signIn(
  deps: AuthDeps,
  callbackUrl: URL,
  state: string,
  pending: PendingAuthorization
): Promise<UpstreamLogin> {
  const upstream = deps.upstream
  if (!upstream)
    throw failure(
      pending,
      new TemporarilyUnavailable('no identity provider is configured on this gateway')
    )
  try {
    return await upstream.provider.completeLogin({
      callbackUrl,
      expectedState: state,
      codeVerifier: pending.upstreamCodeVerifier,
      redirectUri: `${deps.config.issuer}/callback`,
    })
  } catch (error) {
    if (error instanceof UpstreamDenied) {
      await deps.audit.record({
        event: 'user.sign_in_refused',
        flow: flowOf(pending),
        client: clientRef(pending),
        reason: 'upstream_denied',
      })
      throw failure(
        pending,
        new AccessDenied(`the sign-in with ${upstream.name} was cancelled or refused`, {
          cause: error,
        })
      )
    }
    if (error instanceof UpstreamCodeRejected) {
      // A forged, stale or replayed callback URL: the caller's doing, not an outage of ours.
      deps.logger.warn({ event: 'upstream_code_rejected', reason: error.message })
      await deps.audit.record({
        event: 'user.sign_in_refused',
        flow: flowOf(pending),
        client: clientRef(pending),
        reason: 'upstream_code_rejected',
      })
      throw new AuthorizationErrorPage(
        new InvalidRequest(
          `the sign-in could not be completed: the code ${upstream.name} sent back is wrong, expired or already used; start again from the application`,
          { reason: 'upstream_code_rejected', cause: error }
        )
      )
    }
    deps.logger.error({ event: 'upstream_failure', err: error }, 'sign-in upstream failed')
    throw failure(
      pending,
      new TemporarilyUnavailable(`${upstream.name} could not complete the sign-in; try again`, {
        cause: error,
      })
    )
  }
}
