import { createHash } from 'node:crypto'
import { type Context, Hono } from 'hono'
import {
  type AuthorizationRequest,
  parseAuthorizationRequest,
} from '../authorization/authorization-request.ts'
import { completeAuthorization } from '../authorization/complete-authorization.ts'
import { hasConsent } from '../authorization/consent.ts'
import { savePendingAuthorization } from '../authorization/pending-authorization.ts'
import { findClient } from '../clients/client-registry.ts'
import type { AuthDeps } from '../deps.ts'
import {
  AccessDenied,
  AuthorizationErrorPage,
  AuthorizationErrorRedirect,
  TemporarilyUnavailable,
} from '../errors.ts'
import { readFormParams } from '../http/body.ts'
import { cookies } from '../http/cookies.ts'
import { hashSecret, newSecret, secretMatches } from '../oauth/secrets.ts'
import { renderConsentPage } from '../pages/consent-page.ts'
import { findBrowserSession } from '../sessions/browser-session.ts'

/** How long the consent page may stay open before its form is refused. */
const CONSENT_FORM_TTL_SECONDS = 15 * 60
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
      const csrfToken = newSecret()
      jar.set(c, 'csrf', hashSecret(csrfToken), CONSENT_FORM_TTL_SECONDS)
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
      checkConsentForm(c, params, jar.get(c, 'csrf'), config.issuer)
      jar.clear(c, 'csrf')
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
      return signInUpstream(c, deps, request, jar)
    })
}

async function signInUpstream(
  c: Context,
  deps: AuthDeps,
  request: AuthorizationRequest,
  jar: ReturnType<typeof cookies>
): Promise<Response> {
  if (!deps.upstream) {
    throw new AuthorizationErrorRedirect(
      new TemporarilyUnavailable('no identity provider is configured on this gateway'),
      request.redirectUri,
      request.state
    )
  }
  const upstreamCodeVerifier = newSecret()
  const state = await savePendingAuthorization(deps.store, { request, upstreamCodeVerifier })
  // Binds the sign-in to this browser: the callback refuses a state it did not start (login CSRF).
  jar.set(c, 'pending', state, 600)
  const url = deps.upstream.provider.authorizationUrl({
    state,
    codeChallenge: createHash('sha256').update(upstreamCodeVerifier).digest('base64url'),
    redirectUri: `${deps.config.issuer}/callback`,
  })
  return c.body(null, 302, { Location: url.href, 'Cache-Control': 'no-store' })
}

/** The consent form must come from our own page in this browser (double-submit CSRF token). */
function checkConsentForm(
  c: Context,
  params: URLSearchParams,
  csrfCookie: string | undefined,
  issuer: string
): void {
  const origin = c.req.header('origin')
  const token = params.get('csrf_token')
  const sameOrigin = origin === undefined || origin === 'null' || origin === new URL(issuer).origin
  if (!sameOrigin || !token || !csrfCookie || !secretMatches(token, csrfCookie)) {
    throw new AuthorizationErrorPage(
      new AccessDenied(
        'this approval form has expired or did not come from this gateway; start again from the application',
        {
          reason: sameOrigin ? 'csrf_mismatch' : 'cross_origin_form',
        }
      )
    )
  }
}

function parameterRecord(params: URLSearchParams): Record<string, string | string[]> {
  const record: Record<string, string | string[]> = {}
  for (const name of new Set(params.keys())) {
    const values = params.getAll(name)
    record[name] = values.length === 1 ? (values[0] as string) : values
  }
  return record
}
