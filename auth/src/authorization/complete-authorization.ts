import { randomUUID } from 'node:crypto'
import { isClientIdUrl } from '../clients/client-id-metadata.ts'
import { findClient } from '../clients/client-registry.ts'
import type { AuthDeps } from '../deps.ts'
import {
  AccessDenied,
  AuthorizationErrorPage,
  AuthorizationErrorRedirect,
  InvalidRequest,
} from '../errors.ts'
import type { TokenSubject } from '../oauth/access-token.ts'
import { issueAuthorizationCode, withdrawAuthorizationCode } from '../oauth/authorization-code.ts'
import { refuseUnlessAllowed } from '../users/sign-in-refusal.ts'
import type { AuthorizationRequest } from './authorization-request.ts'
import { hasConsent, rememberConsent, renewConsent } from './consent.ts'
import { makeRoomForSignIn } from './sign-in-limit.ts'

/**
 * The end of every successful authorization: the allow-list decides, then a single-use code bound
 * to the client, redirect URI, PKCE challenge, resources, scopes and user goes to the client.
 *
 * On a `remembered` consent (no page was shown) the consent is renewed, not written again, and it
 * is read once more after the code is stored: the user may have disconnected the application
 * while this request re-checked them upstream. The withdrawal deletes the consent, then reads the
 * pending grants; this side writes its grant, then reads the consent: one of the two sees the
 * other, so either the withdrawal revokes this code's family or this code is taken back here.
 *
 * A registered client may have been deleted, or its redirect URI removed (RFC 7592), while the
 * user was away signing in: nothing, not even an error, is sent to a URI it no longer has.
 *
 * Resolves to the code, for the route to send to the client (`redirectWithCode`); a refusal is
 * thrown as the redirect or page it calls for.
 */
export async function completeAuthorization(
  deps: AuthDeps,
  request: AuthorizationRequest,
  subject: TokenSubject,
  options: { readonly remembered?: boolean } = {}
): Promise<string> {
  const { config, store, clock, logger } = deps
  await refuseUnlessStillRegistered(deps, request)
  const refused = await refuseUnlessAllowed(
    deps,
    subject,
    'authorization_code',
    () => request.clientId
  )
  if (refused) throw new AuthorizationErrorRedirect(refused, request.redirectUri, request.state)
  if (options.remembered) {
    await renewConsent(store, { userId: subject.id, clientId: request.clientId }, config.ttl.client)
  } else {
    await rememberConsent(
      store,
      clock,
      {
        userId: subject.id,
        clientId: request.clientId,
        scopes: request.scopes,
        resources: request.resources,
        redirectUris: [request.registeredRedirectUri],
      },
      config.ttl.client
    )
  }
  await makeRoomForSignIn(deps, subject, request.clientId)
  const code = await issueAuthorizationCode(
    store,
    {
      clientId: request.clientId,
      redirectUri: request.redirectUri,
      ...(request.redirectUriOmitted ? { redirectUriOmitted: true } : {}),
      codeChallenge: request.codeChallenge,
      scopes: request.scopes,
      resources: request.resources,
      subject,
      familyId: randomUUID(),
    },
    config.ttl.authorizationCode
  )
  if (options.remembered && !(await hasConsent(store, { userId: subject.id, ...request }))) {
    await withdrawAuthorizationCode(store, code)
    throw new AuthorizationErrorRedirect(
      new AccessDenied('the application was disconnected meanwhile; connect it again'),
      request.redirectUri,
      request.state
    )
  }
  logger.info({
    event: 'authorization_code_issued',
    client_id: request.clientId,
    user_id: subject.id,
    login: subject.login,
    scope: request.scopes.join(' '),
    resources: request.resources,
  })
  return code
}

async function refuseUnlessStillRegistered(
  deps: AuthDeps,
  request: AuthorizationRequest
): Promise<void> {
  // A metadata document client's redirect URIs are its document's, read at `/authorize`.
  if (isClientIdUrl(request.clientId)) return
  const client = await findClient(
    { store: deps.store, clock: deps.clock, clientLifetime: deps.config.ttl.client },
    request.clientId
  )
  if (!client) {
    throw new AuthorizationErrorPage(
      new InvalidRequest(
        'the application was removed while you were signing in; start again from the application',
        { reason: 'client_gone' }
      )
    )
  }
  if (!client.metadata.redirect_uris.includes(request.registeredRedirectUri)) {
    throw new AuthorizationErrorPage(
      new InvalidRequest(
        'the application changed where it receives sign-ins while you were signing in; start again from the application',
        { reason: 'redirect_uri_unregistered' }
      )
    )
  }
}
