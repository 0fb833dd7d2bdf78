import { z } from 'zod'
import type { ClientRecord } from '../../clients/client-registry.ts'
import { matchRedirectUri } from '../../clients/redirect-match.ts'
import type { AuthDeps } from '../../deps.ts'
import { InvalidGrant } from '../../errors.ts'
import { optionalParam, parseParams, requiredParam } from '../../http/params.ts'
import { redeemAuthorizationCode } from '../../oauth/authorization-code.ts'
import { verifierMatches } from '../../oauth/pkce.ts'
import { narrowResources } from '../../oauth/resource.ts'
import { revocationLifetime, tokenLifetimes } from '../../oauth/revocation.ts'
import { hashSecret } from '../../oauth/secrets.ts'
import { keys } from '../../store/keys.ts'
import { reuseDetectedAbout, revokeRefreshFamily } from '../family-revocation.ts'
import { firstTokens } from '../first-tokens.ts'
import type { TokenResponse } from '../token-response.ts'

/** OAuth 2.1 §4.1.3 token request parameters (client authentication is already done). */
const authorizationCodeRequest = z.object({
  code: requiredParam(256),
  // Every code is bound to the redirect URI it was issued for; the request must name it unless
  // the authorization request did not (checked once the code is known).
  redirect_uri: optionalParam(2000),
  code_verifier: requiredParam(128),
})

/** OAuth 2.1 §4.1.3: redeem a code, exactly once, for the client it was issued to. */
export async function authorizationCodeGrant(
  deps: AuthDeps,
  client: ClientRecord,
  form: Readonly<Record<string, string>>,
  requestedResources: readonly string[]
): Promise<TokenResponse> {
  const { config, store, audit } = deps
  const {
    code,
    redirect_uri: redirectUri,
    code_verifier: codeVerifier,
  } = parseParams(authorizationCodeRequest, form)
  const lifetimes = tokenLifetimes(config)

  // A replay revokes what the code issued for as long as any of it can live.
  const redemption = await redeemAuthorizationCode(store, code, revocationLifetime(lifetimes))
  if (redemption.outcome === 'unknown') {
    throw new InvalidGrant('the authorization code is invalid or expired', {
      reason: 'unknown_code',
    })
  }
  if (redemption.outcome === 'replayed') {
    // Recorded once per code, whether or not its family was revoked already (by the client, a
    // withdrawn consent, an operator): the code leaked all the same. Further replays are not.
    const replayed = {
      key: keys.replayedCode(hashSecret(code)),
      value: '1',
      ttlSeconds: revocationLifetime(lifetimes),
    }
    const { firstOccasion, family } = await revokeRefreshFamily(
      store,
      redemption.familyId,
      lifetimes,
      replayed
    )
    if (firstOccasion) {
      await audit.record({
        event: 'authorization_code.reuse_detected',
        ...reuseDetectedAbout(family, client),
        family_id: redemption.familyId,
      })
    }
    throw new InvalidGrant('the authorization code was already used', { reason: 'code_replayed' })
  }
  const { grant } = redemption
  const refuse = (reason: string) =>
    new InvalidGrant('the authorization code is invalid or expired', { reason })
  if (grant.clientId !== client.client_id) throw refuse('code_of_another_client')
  if (redirectUri === undefined && !grant.redirectUriOmitted) {
    throw new InvalidGrant('redirect_uri is required: the authorization request included one', {
      reason: 'redirect_uri_mismatch',
    })
  }
  if (redirectUri !== undefined && redirectUri !== grant.redirectUri) {
    throw refuse('redirect_uri_mismatch')
  }
  // The client may have dropped the URI since (RFC 7592): the code went to a place it disowns.
  if (matchRedirectUri(grant.redirectUri, client.metadata.redirect_uris) === undefined) {
    throw refuse('redirect_uri_unregistered')
  }
  if (!verifierMatches(codeVerifier, grant.codeChallenge)) throw refuse('pkce_mismatch')

  const resources = narrowResources(
    requestedResources,
    grant.resources,
    'the resource was not part of the authorization'
  )
  return firstTokens(deps, client, {
    grantType: 'authorization_code',
    familyId: grant.familyId,
    subject: grant.subject,
    scopes: grant.scopes,
    resources: grant.resources,
    ...(resources.length > 0 ? { audience: resources } : {}),
  })
}
