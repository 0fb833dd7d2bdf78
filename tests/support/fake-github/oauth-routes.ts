import type { Context } from 'hono'
import { Hono } from 'hono'
import { redirectUriAllowed } from './redirect-uri.ts'
import type { FakeGitHubState } from './state.ts'
import { ACCESS_TTL_S, type FakeGitHubToken, REFRESH_TTL_S, type TokenError } from './tokens.ts'

const AUTHORIZE_ERRORS_DOC =
  'https://docs.github.com/apps/managing-oauth-apps/troubleshooting-authorization-request-errors'
const TOKEN_ERRORS_DOC =
  'https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors'

const TOKEN_ERROR_DESCRIPTIONS: Record<TokenError, string> = {
  incorrect_client_credentials: 'The client_id and/or client_secret passed are incorrect.',
  redirect_uri_mismatch:
    'The redirect_uri MUST match the registered callback URL for this application.',
  bad_verification_code: 'The code passed is incorrect or expired.',
  bad_refresh_token: 'The refresh token passed is incorrect or expired.',
  unsupported_grant_type: 'The grant type is not supported.',
}

/** The web host's OAuth endpoints: `/login/oauth/authorize` and `/login/oauth/access_token`. */
export function oauthRoutes(state: FakeGitHubState): Hono {
  const app = new Hono()

  app.get('/login/oauth/authorize', (c) => {
    const q = (name: string) => c.req.query(name)
    if (q('client_id') !== state.clientId) return c.text('Not Found', 404)
    const given = q('redirect_uri')
    const registered = state.callbackUrl
    const stateParam = q('state')
    if (given !== undefined && registered !== null && !redirectUriAllowed(registered, given)) {
      return redirectError(c, registered, stateParam, 'redirect_uri_mismatch', {
        description:
          'The redirect_uri MUST match the registered callback URL for this application.',
        anchor: 'redirect-uri-mismatch',
      })
    }
    const redirectUri = given ?? registered
    if (redirectUri === null) return c.text('fake GitHub: no redirect_uri and no callback URL', 400)
    const challenge = q('code_challenge')
    const method = q('code_challenge_method')
    if ((challenge === undefined) !== (method === undefined) || (method && method !== 'S256')) {
      return redirectError(c, redirectUri, stateParam, 'invalid_request', {
        description:
          'PKCE needs code_challenge and code_challenge_method=S256 (plain is not supported).',
        anchor: 'invalid-request',
      })
    }
    if (state.denyNext) {
      state.denyNext = false
      return redirectError(c, redirectUri, stateParam, 'access_denied', {
        description: 'The user has denied your application access.',
        anchor: 'access-denied',
      })
    }
    if (state.signedIn === null) return c.text('fake GitHub: no user; call addUser() first', 500)
    const login = state.user(state.signedIn).login
    const requested = q('scope')
    const code = state.issueCode({
      login,
      scopes: state.grantedScopes(login, requested),
      offline: (requested ?? '').split(/[\s,]+/).includes('offline_access'),
      redirectUri: given ?? null,
      challenge: challenge ?? null,
    })
    return c.redirect(withParams(redirectUri, { code, state: stateParam }), 302)
  })

  app.post('/login/oauth/access_token', async (c) => {
    const params = await requestParams(c)
    const format = responseFormat(c.req.header('accept'))
    const fail = (error: TokenError) => tokenResponse(c, format, errorFields(error))
    const grantType = params.get('grant_type') ?? 'authorization_code'
    if (grantType !== 'authorization_code' && grantType !== 'refresh_token') {
      return fail('unsupported_grant_type')
    }
    const [clientId, clientSecret] = clientCredentials(c.req.header('authorization'), params)
    if (clientId !== state.clientId || clientSecret !== state.clientSecret) {
      return fail('incorrect_client_credentials')
    }
    const redirectUri = params.get('redirect_uri') ?? undefined
    if (
      redirectUri !== undefined &&
      state.callbackUrl !== null &&
      !redirectUriAllowed(state.callbackUrl, redirectUri)
    ) {
      return fail('redirect_uri_mismatch')
    }
    const result =
      grantType === 'refresh_token'
        ? state.refresh(params.get('refresh_token') ?? undefined)
        : state.exchangeCode(
            params.get('code') ?? undefined,
            redirectUri,
            params.get('code_verifier') ?? undefined
          )
    if (typeof result === 'string') return fail(result)
    return tokenResponse(c, format, tokenFields(result))
  })

  return app
}

function redirectError(
  c: Context,
  redirectUri: string,
  state: string | undefined,
  error: string,
  { description, anchor }: { description: string; anchor: string }
): Response {
  const params = {
    error,
    error_description: description,
    error_uri: `${AUTHORIZE_ERRORS_DOC}/#${anchor}`,
    state,
  }
  return c.redirect(withParams(redirectUri, params), 302)
}

function withParams(url: string, params: Record<string, string | undefined>): string {
  const target = new URL(url)
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined) target.searchParams.set(name, value)
  }
  return target.href
}

/** Query string plus a form or JSON body, as GitHub reads both. */
async function requestParams(c: Context): Promise<URLSearchParams> {
  const params = new URLSearchParams(new URL(c.req.url).search)
  const text = await c.req.text()
  if (!text) return params
  if ((c.req.header('content-type') ?? '').includes('json')) {
    try {
      const body: unknown = JSON.parse(text)
      if (body && typeof body === 'object') {
        for (const [k, v] of Object.entries(body)) if (v != null) params.set(k, String(v))
      }
    } catch {
      // GitHub ignores a body it cannot parse; the checks below then fail on missing fields.
    }
    return params
  }
  for (const [k, v] of new URLSearchParams(text)) params.set(k, v)
  return params
}

/** HTTP Basic (RFC 6749 §2.3.1 form-encodes both parts) wins over body parameters. */
function clientCredentials(
  authorization: string | undefined,
  params: URLSearchParams
): [string | null, string | null] {
  const basic = authorization?.match(/^Basic\s+(\S+)$/i)?.[1]
  if (basic) {
    const decoded = Buffer.from(basic, 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    if (colon < 0) return [null, null]
    const part = (s: string) => decodeURIComponent(s.replaceAll('+', ' '))
    return [part(decoded.slice(0, colon)), part(decoded.slice(colon + 1))]
  }
  return [params.get('client_id'), params.get('client_secret')]
}

type Format = 'json' | 'xml' | 'form'

function responseFormat(accept: string | undefined): Format {
  if (accept?.includes('application/json')) return 'json'
  if (accept?.includes('application/xml')) return 'xml'
  return 'form'
}

function errorFields(error: TokenError): Record<string, string> {
  return {
    error,
    error_description: TOKEN_ERROR_DESCRIPTIONS[error],
    error_uri: `${TOKEN_ERRORS_DOC}/#${error.replaceAll('_', '-')}`,
  }
}

function tokenFields(token: FakeGitHubToken): Record<string, string | number> {
  const fields: Record<string, string | number> = { access_token: token.token }
  if (token.expiresAt !== null && token.refreshToken !== null) {
    fields.expires_in = ACCESS_TTL_S
    fields.refresh_token = token.refreshToken
    fields.refresh_token_expires_in = REFRESH_TTL_S
  }
  fields.scope = token.scopes.join(',')
  fields.token_type = 'bearer'
  return fields
}

/** Every answer is HTTP 200, errors included: GitHub puts the outcome in the body only. */
function tokenResponse(c: Context, format: Format, fields: Record<string, string | number>) {
  if (format === 'json') {
    return c.body(JSON.stringify(fields), 200, {
      'content-type': 'application/json; charset=utf-8',
    })
  }
  if (format === 'xml') {
    const xml = Object.entries(fields)
      .map(([k, v]) => `<${k}>${String(v).replaceAll('&', '&amp;').replaceAll('<', '&lt;')}</${k}>`)
      .join('')
    return c.body(`<OAuth>${xml}</OAuth>`, 200, {
      'content-type': 'application/xml; charset=utf-8',
    })
  }
  const form = new URLSearchParams(
    Object.entries(fields).map(([k, v]): [string, string] => [k, String(v)])
  )
  return c.body(form.toString(), 200, {
    'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
  })
}
