import { type Context, Hono } from 'hono'
import { hasUpstream, redirectToUpstream } from '../authorization/upstream-sign-in.ts'
import { findClient } from '../clients/client-registry.ts'
import type { AuthDeps } from '../deps.ts'
import {
  alreadyAnswered,
  completeDeviceAuthorization,
} from '../device/complete-device-authorization.ts'
import { decideDeviceAuthorization, findByUserCode } from '../device/device-authorization.ts'
import { formatUserCode, normalizeUserCode } from '../device/user-code.ts'
import {
  AuthorizationErrorPage,
  OAuthError,
  RateLimited,
  TemporarilyUnavailable,
} from '../errors.ts'
import { readFormParams } from '../http/body.ts'
import { cookies } from '../http/cookies.ts'
import { checkFormToken, issueFormToken, readOwnForm, userDecision } from '../http/csrf.ts'
import { requestLimiter } from '../http/rate-limit.ts'
import type { TokenSubject } from '../oauth/access-token.ts'
import {
  renderDeviceConsentPage,
  renderDeviceDonePage,
  renderUserCodePage,
} from '../pages/device-pages.ts'
import { findBrowserSession } from '../sessions/browser-session.ts'
import { recheckSessionUser } from '../sessions/session-user.ts'

/**
 * User codes entered per minute (at `/device` and `/device/decision`, right or wrong) from one
 * caller and from all together. A person enters a code twice per device (code, then decision).
 * Once over, a right code is refused too until the window ends.
 */
export const USER_CODE_ENTRY_LIMITS = { perCaller: 10, global: 100, windowSeconds: 60 }

/**
 * The verification pages of the device flow (RFC 8628 §3.3): `/device` takes the user code and
 * shows what is being connected; `/device/decision` takes the answer and signs the user in
 * upstream when needed. Code entries are limited (§5.1: guessing a code must not pay).
 */
export const deviceRoute = (deps: AuthDeps) => {
  const { config, store, clock, audit } = deps
  const registry = { store, clock, clientLifetime: config.ttl.client }
  const jar = cookies(config.issuer)
  const countCodeEntry = requestLimiter({
    store,
    clock,
    bucket: 'device-code-entry',
    limit: USER_CODE_ENTRY_LIMITS.perCaller,
    globalLimit: USER_CODE_ENTRY_LIMITS.global,
    windowSeconds: USER_CODE_ENTRY_LIMITS.windowSeconds,
    trustProxy: config.trustProxy,
    description: 'too many user codes entered, retry later',
  })

  const askForCode = (c: Context, userCode: string, problem?: string) =>
    renderUserCodePage(
      c,
      {
        userCode,
        csrfToken: issueFormToken(c, jar),
        issuer: config.issuer,
        ...(problem ? { problem } : {}),
      },
      problem ? 400 : 200
    )

  /**
   * The pending authorization a typed code names. Every entry is counted before the code is
   * judged, right or wrong: counting only wrong ones after judging let concurrent guesses all be
   * judged before any was counted. A signed-in user's entries are theirs (`requestLimiter`).
   */
  const lookUp = async (c: Context, typed: string, session: TokenSubject | null) => {
    // These are browser pages: over the limit, a person gets the 429 page, not JSON.
    await countCodeEntry(c, session).catch((error: unknown) => {
      throw error instanceof RateLimited ? new AuthorizationErrorPage(error) : error
    })
    const userCode = normalizeUserCode(typed)
    const found = userCode ? await findByUserCode(store, userCode) : null
    // A reload after answering (or a second tab): the answer stands, and the page says so.
    if (found === 'answered') throw alreadyAnswered()
    const client = found ? await findClient(registry, found.authorization.clientId) : null
    return found && client ? { ...found, client } : null
  }

  return new Hono()
    .get('/device', (c) => askForCode(c, normalizeForDisplay(c.req.query('user_code') ?? '')))
    .post('/device', async (c) => {
      const params = await readFormParams(c)
      checkFormToken(c, params, jar, config.issuer)
      const typed = params.get('user_code') ?? ''
      const subject = await findBrowserSession(store, jar.get(c, 'session'))
      const found = await lookUp(c, typed, subject)
      if (!found)
        return askForCode(
          c,
          typed,
          'This code is not valid or has expired. Check it on your device.'
        )
      return renderDeviceConsentPage(c, {
        client: found.client,
        userCode: formatUserCode(found.authorization.userCode),
        scopes: found.authorization.scopes,
        resources: config.protectedResources
          .filter((r) => found.authorization.resources.includes(r.resource))
          .map((r) => ({ resource: r.resource, description: r.service.description })),
        ...(subject ? { signedInAs: subject.login } : {}),
        csrfToken: issueFormToken(c, jar),
        upstreamName: deps.upstream?.name ?? 'your identity provider',
      })
    })
    .post('/device/decision', async (c) => {
      const form = await readOwnForm(c, jar, config.issuer, ['user_code', 'decision'])
      const decision = userDecision(form.decision)
      const session = await findBrowserSession(store, jar.get(c, 'session'))
      const found = await lookUp(c, form.user_code, session)
      if (!found)
        return askForCode(
          c,
          '',
          'This code is not valid or has expired. Start again on your device.'
        )
      if (decision === 'deny') {
        if (!(await decideDeviceAuthorization(store, found.deviceCodeHash, { status: 'denied' }))) {
          throw alreadyAnswered()
        }
        await audit.record({
          event: 'authorization.consent_denied',
          user: session ?? undefined,
          client: found.client,
          flow: 'device',
        })
        return renderDeviceDonePage(c, false)
      }
      if (session) {
        // The session may be hours old: the user is read again upstream before approving.
        const user = await recheckSessionUser(c, deps, jar, session, {
          client_id: found.client.client_id,
          flow: 'device',
        }).catch((error: unknown) => {
          throw error instanceof OAuthError ? new AuthorizationErrorPage(error) : error
        })
        if (user.outcome === 'refused') {
          await decideDeviceAuthorization(store, found.deviceCodeHash, { status: 'denied' })
          throw new AuthorizationErrorPage(user.error)
        }
        if (user.outcome === 'allowed') {
          // Audited once recorded: an answer that lost to another one gave no consent.
          await completeDeviceAuthorization(deps, found.deviceCodeHash, user.subject)
          await audit.record({
            event: 'authorization.consent_given',
            user: user.subject,
            client: found.client,
            flow: 'device',
            scope: found.authorization.scopes.join(' '),
            resource: found.authorization.resources,
            remembered: false,
          })
          return renderDeviceDonePage(c, true)
        }
      }
      if (!hasUpstream(deps)) {
        throw new AuthorizationErrorPage(
          new TemporarilyUnavailable('no identity provider is configured on this gateway')
        )
      }
      return redirectToUpstream(c, deps, {
        kind: 'device',
        deviceCodeHash: found.deviceCodeHash,
        clientId: found.client.client_id,
      })
    })
}

/** A code from the link, shown as the device shows it; anything else is left out. */
function normalizeForDisplay(value: string): string {
  const code = normalizeUserCode(value)
  return code ? formatUserCode(code) : ''
}
