import type { ClientRecord } from '../clients/client-registry.ts'
import type { AuthDeps } from '../deps.ts'
import type { TokenSubject } from '../oauth/access-token.ts'
import { startRefreshFamily } from './refresh-tokens.ts'
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
  const { config, store, clock, logger } = deps
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
        },
        { refreshTokenTtl: config.ttl.refreshToken, accessTokenTtl: config.ttl.accessToken }
      )
    : undefined
  logger.info({
    event: 'token_issued',
    grant_type: grant.grantType,
    client_id: client.client_id,
    user_id: grant.subject.id,
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
