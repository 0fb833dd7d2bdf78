import type { ClientRecord } from '../clients/client-registry.ts'
import type { AuthDeps } from '../deps.ts'
import { InvalidGrant } from '../errors.ts'
import type { TokenSubject } from '../oauth/access-token.ts'
import { isFamilyRevoked } from '../oauth/revocation.ts'
import { revokeRefreshFamily, startRefreshFamily } from './refresh-tokens.ts'
import { type TokenResponse, tokenResponse } from './token-response.ts'

/**
 * The first tokens of a grant (code or device): an access token, and a refresh token starting a
 * new family when the client is registered for the refresh grant.
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
  const lifetimes = {
    refreshTokenTtl: config.ttl.refreshToken,
    accessTokenTtl: config.ttl.accessToken,
  }
  const refreshToken = client.metadata.grant_types.includes('refresh_token')
    ? await startRefreshFamily(
        store,
        clock,
        {
          familyId: grant.familyId,
          clientId: client.client_id,
          subject: grant.subject,
          scopes: grant.scopes,
          resources: grant.resources,
          grantType: grant.grantType,
        },
        lifetimes
      )
    : undefined
  // Read after the family is written: a revocation that raced this grant (the code replayed while
  // it was being redeemed) wrote its marker first, so either it saw the family and removed it, or
  // the marker is seen here. Then nothing is handed out and what was written goes.
  if (await isFamilyRevoked(store, grant.familyId)) {
    if (refreshToken) await revokeRefreshFamily(store, grant.familyId, lifetimes)
    logger.warn({
      event: 'grant_revoked_while_issued',
      grant_type: grant.grantType,
      client_id: client.client_id,
      family_id: grant.familyId,
    })
    throw new InvalidGrant('the grant was revoked while it was being redeemed', {
      reason: 'family_revoked',
    })
  }
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
