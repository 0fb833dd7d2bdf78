import type { ClientRecord } from '../clients/client-registry.ts'
import type { AuthDeps } from '../deps.ts'
import { InvalidGrant, RevokedGrant } from '../errors.ts'
import type { TokenSubject } from '../oauth/access-token.ts'
import { tokenLifetimes } from '../oauth/revocation.ts'
import { gatewayAllowList, isAllowed } from '../policy/allow-list.ts'
import {
  RefreshFamilyRevoked,
  startAccessOnlyFamily,
  startRefreshFamily,
} from './refresh-tokens.ts'
import { type TokenResponse, tokenResponse } from './token-response.ts'

/**
 * The first tokens of a grant (code or device): an access token, and a refresh token when the
 * client is registered for the refresh grant. Either way the grant's family is stored and indexed
 * first, so every revocation by user, client or consent finds it.
 */
export async function firstTokens(
  deps: AuthDeps,
  client: ClientRecord,
  grant: {
    grantType: string
    familyId: string
    subject: TokenSubject
    /** What was granted: the family keeps it for later refreshes. */
    scopes: readonly string[]
    resources: readonly string[]
    /** The access token's audience, when narrower than `resources`. */
    audience?: readonly string[]
  }
): Promise<TokenResponse> {
  const { config, store, clock, logger, audit } = deps
  const lifetimes = tokenLifetimes(config)
  // A revocation before or racing this grant (a consent withdrawn before the code was redeemed,
  // the code replayed while it was being redeemed): nothing is handed out, and no family is left
  // behind (see `startRefreshFamily`).
  const revokedWhileIssued = () => {
    logger.warn({
      event: 'grant_revoked_while_issued',
      grant_type: grant.grantType,
      client_id: client.client_id,
      family_id: grant.familyId,
    })
    return new RevokedGrant('the authorization was revoked before its tokens were issued', {
      reason: 'family_revoked',
    })
  }
  // A code or approved device code outlives its user's place on the allow-list (a restart with a
  // new list): what it would mint, the list decides now.
  if (!isAllowed(grant.subject, gatewayAllowList(config))) {
    throw new InvalidGrant('the user may no longer use the gateway', {
      reason: 'user_not_allowed',
    })
  }
  const family = {
    familyId: grant.familyId,
    clientId: client.client_id,
    subject: grant.subject,
    scopes: grant.scopes,
    resources: grant.resources,
    grantType: grant.grantType,
  }
  // Without the refresh grant the family holds the access token alone, recorded all the same so
  // that revoking the user's, the client's or the consent's tokens finds it.
  const refreshToken = await (client.metadata.grant_types.includes('refresh_token')
    ? startRefreshFamily(store, clock, family, lifetimes)
    : startAccessOnlyFamily(store, clock, family, lifetimes).then(() => undefined)
  ).catch((error: unknown) => {
    throw error instanceof RefreshFamilyRevoked ? revokedWhileIssued() : error
  })
  await audit.record({
    event: 'token.issued',
    user: grant.subject,
    client,
    grant_type: grant.grantType,
    scope: grant.scopes.join(' '),
    family_id: grant.familyId,
  })
  return tokenResponse(deps, {
    clientId: client.client_id,
    subject: grant.subject,
    scopes: grant.scopes,
    resources: grant.audience ?? grant.resources,
    familyId: grant.familyId,
    refreshToken,
  })
}
