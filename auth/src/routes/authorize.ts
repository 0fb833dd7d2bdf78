import { type Context, Hono } from 'hono'
import { namedClient } from '../audit/audit-client.ts'
import { anonymousWriteLimit } from '../authorization/anonymous-writes.ts'
import {
  type AuthorizationRequest,
  parseAuthorizationRequest,
} from '../authorization/authorization-request.ts'
import { completeAuthorization } from '../authorization/complete-authorization.ts'
import { hasApprovedRedirect, hasConsent } from '../authorization/consent.ts'
import { saveConsentRequest, takeConsentRequest } from '../authorization/consent-request.ts'
import { asksEveryTime, rememberedConsentBound } from '../authorization/remembered-consent.ts'
import { hasUpstream, redirectToUpstream } from '../authorization/upstream-sign-in.ts'
import { clientLookup, lookUpClient } from '../clients/client-lookup.ts'
import type { ClientRecord } from '../clients/client-registry.ts'
import type { AuthDeps } from '../deps.ts'
import {
  AccessDenied,
  AuthorizationErrorPage,
  AuthorizationErrorRedirect,
  InvalidRequest,
  OAuthError,
  TemporarilyUnavailable,
} from '../errors.ts'
import { callerAddress } from '../http/caller.ts'
import { cookies } from '../http/cookies.ts'
import { FORM_TTL_SECONDS, issueFormToken, readOwnForm, userDecision } from '../http/csrf.ts'
import { utf8QueryParams } from '../http/params.ts'
import { redirectWithCode } from '../http/redirect-to-client.ts'
import type { TokenSubject } from '../oauth/access-token.ts'
import { renderConsentPage } from '../pages/consent-page.ts'
import { findBrowserSession } from '../sessions/browser-session.ts'
import { recheckSessionUser } from '../sessions/session-user.ts'

/**
 * `GET /authorize` validates the request and asks for consent, before any redirect to the
 * identity provider; `POST /authorize` takes the decision. The validated request waits on the
 * server for the answer (the page carries only a reference to it); after an approval it waits
 * again, as a pending authorization, only while a sign-in upstream is needed.
 */
export const authorizeRoute = (deps: AuthDeps) => {
  const { config, store, audit } = deps
  const registry = clientLookup(deps)
  const jar = cookies(config.issuer)
  const limitConsentRequests = anonymousWriteLimit(deps, 'consentRequest')
  const mayRemember = rememberedConsentBound(deps)
  const issuerHost = new URL(config.issuer).host
  /** Service hosts (compose: `<name>.$BASE_DOMAIN`) that route `/authorize` here as a fallback. */
  const serviceHosts = new Set(
    config.protectedResources
      .map((r) => new URL(r.resource).host)
      .filter((host) => host !== issuerHost)
  )

  /**
   * Validates the request. RFC 9700 §4.11.2: an error goes back to the client only when this user
   * has approved it (for that redirect URI) before; otherwise it ends on our page, so a client
   * anyone can register cannot use the gateway as a redirector.
   */
  const parse = async (params: URLSearchParams, subject: TokenSubject | null, caller: string) => {
    // A metadata document that cannot be had ends here too: nothing about the client is trusted.
    const requester = { address: caller, signedIn: subject, browser: true }
    const client = await lookUpClient(registry, params.get('client_id') ?? '', requester).catch(
      (error: unknown) => {
        throw error instanceof OAuthError ? new AuthorizationErrorPage(error) : error
      }
    )
    try {
      return {
        client: client as ClientRecord,
        request: parseAuthorizationRequest(params, client, config),
      }
    } catch (error) {
      if (
        error instanceof AuthorizationErrorRedirect &&
        !(
          subject &&
          client &&
          (await hasApprovedRedirect(store, {
            userId: subject.id,
            clientId: client.client_id,
            redirectUri: error.redirectUri,
          }))
        )
      ) {
        throw new AuthorizationErrorPage(error.error)
      }
      throw error
    }
  }

  /**
   * The user of a remembered browser session as the identity provider sees them now, or null when
   * they must sign in there again; a user no longer allowed gets `access_denied`, as at the
   * callback.
   */
  const sessionUserFor = async (
    c: Context,
    session: TokenSubject,
    request: AuthorizationRequest
  ) => {
    const toClient = (error: OAuthError) =>
      new AuthorizationErrorRedirect(error, request.redirectUri, request.state)
    const user = await recheckSessionUser(c, deps, jar, session, {
      client_id: request.clientId,
    }).catch((error: unknown) => {
      throw error instanceof OAuthError ? toClient(error) : error
    })
    if (user.outcome === 'refused') throw toClient(user.error)
    return user.outcome === 'allowed' ? user.subject : null
  }

  return new Hono()
    .get('/authorize', async (c) => {
      const url = new URL(c.req.url)
      // Clients that miss discovery (claude.ai among them) try /authorize on the service's own
      // host; the consent form, its cookies and its Origin check belong to the issuer's origin.
      if (serviceHosts.has(url.host)) {
        return c.redirect(`${config.issuer}/authorize${url.search}`, 302)
      }
      let params: URLSearchParams
      try {
        params = utf8QueryParams(url.search)
      } catch (error) {
        throw error instanceof OAuthError ? new AuthorizationErrorPage(error) : error
      }
      const session = await findBrowserSession(store, jar.get(c, 'session'))
      const { client, request } = await parse(params, session, callerAddress(c, config.trustProxy))
      let subject = session
      let counted = false
      if (
        session &&
        !asksEveryTime(client, request.redirectUri) &&
        !asksForThePage(params) &&
        (await hasConsent(store, { userId: session.id, ...request }))
      ) {
        // Counted as a page shown would be, the code or the page this request gets.
        await limitConsentRequests(c, session)
        counted = true
        if (await mayRemember(c, session)) {
          // A remembered consent means this user approved this redirect: errors may go back to it.
          const user = await sessionUserFor(c, session, request)
          if (user) {
            const code = await completeAuthorization(deps, request, user, { remembered: true })
            await audit.record({
              event: 'authorization.consent_given',
              user,
              client,
              flow: 'authorization_code',
              scope: request.scopes.join(' '),
              resource: request.resources,
              remembered: true,
            })
            return redirectWithCode(c, config.issuer, request, code)
          }
          // A session the identity provider refused just now counts as none, counted as such.
          subject = null
          counted = false
        } else {
          // Seen by the operator: a page elsewhere sending the user's browser here does this.
          deps.logger.info(
            { event: 'remembered_consent_bound', user: session.id, client_id: client.client_id },
            'remembered consents answered 60 times this hour: the consent page is shown'
          )
        }
      }
      if (!counted) await limitConsentRequests(c, subject)
      const csrfToken = issueFormToken(c, jar)
      const consentRequest = await saveConsentRequest(store, request, csrfToken, FORM_TTL_SECONDS)
      return renderConsentPage(c, {
        client,
        redirectUri: request.redirectUri,
        scopes: request.scopes,
        resources: config.protectedResources
          .filter((r) => request.resources.includes(r.resource))
          .map((r) => ({ resource: r.resource, description: r.service.description })),
        ...(subject ? { signedInAs: subject.login } : {}),
        consentRequest,
        csrfToken,
        upstreamName: deps.upstream?.name ?? 'your identity provider',
      })
    })
    .post('/authorize', async (c) => {
      const form = await readOwnForm(c, jar, config.issuer, ['consent_request', 'decision'])
      const decision = userDecision(form.decision)
      const request = await takeConsentRequest(store, form.consent_request, form.csrf_token)
      if (!request) {
        throw new AuthorizationErrorPage(
          new InvalidRequest(
            'this consent page has expired, was already answered or was opened in another browser; start again from the application',
            { reason: 'unknown_consent_request' }
          )
        )
      }
      // The user has seen the consent page: from here on errors go back to the client.
      const session = await findBrowserSession(store, jar.get(c, 'session'))
      if (decision === 'deny') {
        await audit.record({
          event: 'authorization.consent_denied',
          user: session ?? undefined,
          client: await namedClient(deps.store, deps.clock, request.clientId),
          flow: 'authorization_code',
        })
        throw new AuthorizationErrorRedirect(
          new AccessDenied('the user denied the request'),
          request.redirectUri,
          request.state
        )
      }
      const subject = session && (await sessionUserFor(c, session, request))
      // Without a signed-in user, the consent is audited once the sign-in says who gave it.
      if (subject) {
        await audit.record({
          event: 'authorization.consent_given',
          user: subject,
          client: await namedClient(deps.store, deps.clock, request.clientId),
          flow: 'authorization_code',
          scope: request.scopes.join(' '),
          resource: request.resources,
          remembered: false,
        })
        const code = await completeAuthorization(deps, request, subject)
        return redirectWithCode(c, config.issuer, request, code)
      }
      if (!hasUpstream(deps)) {
        throw new AuthorizationErrorRedirect(
          new TemporarilyUnavailable('no identity provider is configured on this gateway'),
          request.redirectUri,
          request.state
        )
      }
      return redirectToUpstream(c, deps, { kind: 'authorization', request })
    })
}

/**
 * `prompt=consent` or `prompt=login` (OpenID Connect Core §3.1.2.1, which MCP clients send as
 * OAuth clients do): the client wants its user to see the page, remembered consent or not. The
 * browser session, if any, still says who approves (no new sign-in upstream is forced).
 */
function asksForThePage(params: URLSearchParams): boolean {
  const prompt = params.get('prompt')
  if (!prompt) return false
  const values = prompt.split(' ')
  return values.includes('consent') || values.includes('login')
}
