import { Hono } from 'hono'
import { parseAuthorizationRequest } from '../authorization/authorization-request.ts'
import { completeAuthorization } from '../authorization/complete-authorization.ts'
import { hasConsent } from '../authorization/consent.ts'
import { hasUpstream, redirectToUpstream } from '../authorization/upstream-sign-in.ts'
import { findClient } from '../clients/client-registry.ts'
import type { AuthDeps } from '../deps.ts'
import { AccessDenied, AuthorizationErrorRedirect, TemporarilyUnavailable } from '../errors.ts'
import { readFormParams } from '../http/body.ts'
import { cookies } from '../http/cookies.ts'
import { checkFormToken, issueFormToken } from '../http/csrf.ts'
import { renderConsentPage } from '../pages/consent-page.ts'
import { findBrowserSession } from '../sessions/browser-session.ts'

/** Form fields that are ours, not the authorization request's. */
const FORM_FIELDS = ['csrf_token', 'decision']

/**
 * `GET /authorize` validates the request and asks for consent, before any redirect to the
 * identity provider; `POST /authorize` takes the decision. The request is stored only after the
 * user approves, and only when a sign-in upstream is still needed.
 */
export const authorizeRoute = (deps: AuthDeps) => {
  const { config, store, clock, logger } = deps
  const registry = { store, clock, clientLifetime: config.ttl.client }
  const jar = cookies(config.issuer)

  const parse = async (params: URLSearchParams) => {
    const client = await findClient(registry, params.get('client_id') ?? '')
    return { client, request: parseAuthorizationRequest(params, client, config) }
  }

  return new Hono()
    .get('/authorize', async (c) => {
      const params = new URL(c.req.url).searchParams
      const { client, request } = await parse(params)
      const subject = await findBrowserSession(store, jar.get(c, 'session'))
      if (subject && (await hasConsent(store, { userId: subject.id, ...request }))) {
        logger.info({
          event: 'consent_remembered',
          client_id: request.clientId,
          user_id: subject.id,
        })
        return completeAuthorization(c, deps, request, subject)
      }
      const csrfToken = issueFormToken(c, jar)
      return renderConsentPage(c, {
        client: client as NonNullable<typeof client>,
        redirectUri: request.redirectUri,
        scopes: request.scopes,
        resources: config.protectedResources
          .filter((r) => request.resources.includes(r.resource))
          .map((r) => ({ resource: r.resource, description: r.service.description })),
        ...(subject ? { signedInAs: subject.login } : {}),
        parameters: parameterRecord(params),
        csrfToken,
        upstreamName: deps.upstream?.name ?? 'your identity provider',
      })
    })
    .post('/authorize', async (c) => {
      const params = await readFormParams(c)
      checkFormToken(c, params, jar, config.issuer)
      const decision = params.get('decision')
      for (const field of FORM_FIELDS) params.delete(field)
      const { request } = await parse(params)
      if (decision !== 'approve') {
        logger.info({ event: 'consent_denied', client_id: request.clientId })
        throw new AuthorizationErrorRedirect(
          new AccessDenied('the user denied the request'),
          request.redirectUri,
          request.state
        )
      }
      logger.info({
        event: 'consent_given',
        client_id: request.clientId,
        scope: request.scopes.join(' '),
      })
      const subject = await findBrowserSession(store, jar.get(c, 'session'))
      if (subject) return completeAuthorization(c, deps, request, subject)
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

function parameterRecord(params: URLSearchParams): Record<string, string | string[]> {
  const record: Record<string, string | string[]> = {}
  for (const name of new Set(params.keys())) {
    const values = params.getAll(name)
    record[name] = values.length === 1 ? (values[0] as string) : values
  }
  return record
}
