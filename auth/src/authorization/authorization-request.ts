import { z } from 'zod'
import type { ClientRecord } from '../clients/client-registry.ts'
import { matchRedirectUri } from '../clients/redirect-match.ts'
import type { Config } from '../config.ts'
import {
  AuthorizationErrorPage,
  AuthorizationErrorRedirect,
  InvalidClient,
  InvalidRequest,
  type OAuthError,
  UnauthorizedClient,
  UnsupportedResponseType,
} from '../errors.ts'
import { repeatedParameter } from '../http/params.ts'
import { isS256Challenge } from '../oauth/pkce.ts'
import { namedResources, resolveResources } from '../oauth/resource.ts'
import { grantedScopes } from '../oauth/scope.ts'

/** A validated authorization request (OAuth 2.1 §4.1.1, RFC 7636, RFC 8707). */
export interface AuthorizationRequest {
  readonly clientId: string
  /** Exactly as sent (a loopback port may differ from the registered one); the code is bound to it. */
  readonly redirectUri: string
  /** The registered URI it matched: what the user's consent is bound to. */
  readonly registeredRedirectUri: string
  /**
   * The request named no `redirect_uri` (the client registered one): the token request may leave
   * it out too (OAuth 2.1 §4.1.3). Absent from records that include one.
   */
  readonly redirectUriOmitted?: true
  readonly state?: string
  readonly scopes: readonly string[]
  readonly codeChallenge: string
  readonly resources: readonly string[]
}

const MAX_STATE_LENGTH = 2048

/** Shapes of the parameters checked once the redirect URI is trusted (errors are redirected). */
const redirectableParams = z.object({
  state: z.string().max(MAX_STATE_LENGTH, 'is too long').optional(),
  scope: z.string().max(1000, 'is too long').optional(),
  code_challenge: z
    .string({ error: 'is required (PKCE with S256)' })
    .refine(isS256Challenge, 'is not a valid S256 challenge'),
  code_challenge_method: z.literal('S256', { error: 'must be S256' }),
  resource: z.array(z.string().max(2000, 'is too long')).max(10, 'lists too many resources'),
})

/** The parameters a request may repeat (RFC 8707 §2); all others must appear at most once. */
const REPEATABLE = new Set(['resource'])

/**
 * Ceiling of a validated request as stored JSON (consent requests, pending sign-ins). Its fields
 * are bounded (state 2048 characters, redirect URIs 2000), which keeps an ASCII request under
 * about 7 KiB; the check makes the bound hold for any content.
 */
export const MAX_AUTHORIZATION_REQUEST_BYTES = 8 * 1024

/**
 * Validates an authorization request. Until the client and its redirect URI are trusted, errors
 * are `AuthorizationErrorPage`s; after that, `AuthorizationErrorRedirect`s (RFC 6749 §4.1.2.1),
 * which the endpoint sends back only to a client the user has approved (RFC 9700 §4.11.2).
 */
export function parseAuthorizationRequest(
  params: URLSearchParams,
  client: ClientRecord | null,
  config: Config
): AuthorizationRequest {
  // RFC 6749 §3.1: a repeated parameter makes the request ambiguous, whichever copy a reader
  // takes; refused before anything is trusted, so it never reaches the client either.
  for (const name of new Set(params.keys())) {
    if (!REPEATABLE.has(name) && params.getAll(name).length > 1) {
      throw new AuthorizationErrorPage(
        new InvalidRequest(repeatedParameter(name), { reason: 'repeated_parameter' })
      )
    }
  }
  const param = (name: string) => params.get(name) || undefined
  const clientId = param('client_id')
  if (!clientId) {
    throw new AuthorizationErrorPage(new InvalidRequest('client_id is missing'))
  }
  if (!client) {
    throw new AuthorizationErrorPage(
      new InvalidClient(
        'this application is not registered (it may have expired): let it register again',
        {
          reason: 'unknown_client',
        }
      )
    )
  }
  const requestedRedirectUri = param('redirect_uri')
  const { redirectUri, registeredRedirectUri } = trustedRedirectUri(requestedRedirectUri, client)
  const state = param('state')
  // A state that fails validation (too long) is not echoed back.
  const stateIsValid = (state?.length ?? 0) <= MAX_STATE_LENGTH
  const fail = (error: OAuthError): never => {
    throw new AuthorizationErrorRedirect(error, redirectUri, stateIsValid ? state : undefined)
  }

  const responseType = param('response_type')
  // RFC 6749 §4.1.2.1: a missing parameter is invalid_request; another value is unsupported.
  if (responseType === undefined) fail(new InvalidRequest('response_type is missing'))
  if (responseType !== 'code') {
    fail(new UnsupportedResponseType('only response_type=code is supported'))
  }
  // Only the query carries the answer (the metadata's response_modes_supported): a client asking
  // for another would look for its code where it never comes.
  const responseMode = param('response_mode')
  if (responseMode !== undefined && responseMode !== 'query') {
    fail(new InvalidRequest('only response_mode=query is supported'))
  }
  if (!client.metadata.grant_types.includes('authorization_code')) {
    fail(new UnauthorizedClient('this client is not registered for the authorization code grant'))
  }
  const shape = redirectableParams.safeParse({
    state,
    scope: param('scope'),
    code_challenge: param('code_challenge'),
    code_challenge_method: param('code_challenge_method'),
    resource: params.getAll('resource'),
  })
  if (!shape.success) {
    const issue = shape.error.issues[0]
    fail(
      new InvalidRequest(`${issue?.path.join('.') ?? 'request'} ${issue?.message ?? 'is invalid'}`)
    )
  }
  const { code_challenge: codeChallenge, scope } = shape.data as z.infer<typeof redirectableParams>

  let resources: string[] = []
  try {
    resources = resolveResources(params.getAll('resource'), config.protectedResources)
  } catch (error) {
    fail(error as OAuthError)
  }
  const named = namedResources(resources, config.protectedResources)
  const request: AuthorizationRequest = {
    clientId: client.client_id,
    redirectUri,
    registeredRedirectUri,
    ...(requestedRedirectUri ? {} : { redirectUriOmitted: true }),
    ...(state ? { state } : {}),
    scopes: grantedScopes(scope, named),
    codeChallenge,
    resources,
  }
  if (Buffer.byteLength(JSON.stringify(request)) > MAX_AUTHORIZATION_REQUEST_BYTES) {
    fail(new InvalidRequest('the authorization request is too large'))
  }
  return request
}

function trustedRedirectUri(
  requested: string | undefined,
  client: ClientRecord
): { redirectUri: string; registeredRedirectUri: string } {
  const registered = client.metadata.redirect_uris
  // OAuth 2.1 §4.1.1: optional only when exactly one is registered.
  if (!requested) {
    const [only] = registered
    if (registered.length === 1 && only) return { redirectUri: only, registeredRedirectUri: only }
    throw new AuthorizationErrorPage(new InvalidRequest('redirect_uri is required'))
  }
  const registeredRedirectUri = matchRedirectUri(requested, registered)
  if (!registeredRedirectUri) {
    throw new AuthorizationErrorPage(
      new InvalidRequest('redirect_uri does not match any URI this application registered', {
        reason: 'redirect_uri_mismatch',
      })
    )
  }
  return { redirectUri: requested, registeredRedirectUri }
}
