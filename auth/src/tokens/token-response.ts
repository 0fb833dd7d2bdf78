import type { AuthDeps } from '../deps.ts'
import { issueAccessToken, type TokenSubject } from '../oauth/access-token.ts'
import { formatScope } from '../oauth/scope.ts'

/** RFC 6749 §5.1 successful token response. */
export interface TokenResponse {
  readonly access_token: string
  readonly token_type: 'Bearer'
  readonly expires_in: number
  readonly scope: string
  readonly refresh_token?: string
}

export async function tokenResponse(
  deps: Pick<AuthDeps, 'config' | 'signingKeys' | 'clock'>,
  grant: {
    clientId: string
    subject: TokenSubject
    scopes: readonly string[]
    resources: readonly string[]
    familyId: string
    refreshToken: string | undefined
  }
): Promise<TokenResponse> {
  const { config, signingKeys, clock } = deps
  const scope = formatScope(grant.scopes)
  const { token } = await issueAccessToken(
    {
      issuer: config.issuer,
      subject: grant.subject,
      clientId: grant.clientId,
      audience: grant.resources,
      scope,
      ttlSeconds: config.ttl.accessToken,
      familyId: grant.familyId,
    },
    signingKeys,
    clock
  )
  return {
    access_token: token,
    token_type: 'Bearer',
    expires_in: config.ttl.accessToken,
    scope,
    ...(grant.refreshToken ? { refresh_token: grant.refreshToken } : {}),
  }
}
