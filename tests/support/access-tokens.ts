import { expect } from 'vitest'
import type { AuthDeps } from '../../auth/src/deps.ts'
import { type AccessTokenClaims, issueAccessToken } from '../../auth/src/oauth/access-token.ts'

export interface MintOptions {
  /** The `aud`: one resource URL or several. */
  readonly audience?: string | readonly string[]
  readonly scope?: string
  readonly login?: string
  readonly id?: string
  readonly email?: string
  readonly name?: string
  readonly orgs?: readonly string[]
  readonly clientId?: string
  readonly familyId?: string
  readonly ttlSeconds?: number
}

/** Mints a real access token with the server's current signing key, as `/token` would. */
export async function mintAccessToken(
  server: Pick<AuthDeps, 'config' | 'signingKeys' | 'clock'>,
  options: MintOptions = {}
): Promise<{ token: string; claims: AccessTokenClaims }> {
  const audience = options.audience ?? server.config.protectedResources[0]?.resource
  if (audience === undefined) throw new Error('the test server protects no resource')
  return issueAccessToken(
    {
      issuer: server.config.issuer,
      subject: {
        id: options.id ?? '1001',
        login: options.login ?? 'octocat',
        ...(options.name === undefined ? {} : { name: options.name }),
        email: options.email ?? 'octocat@example.com',
        ...(options.orgs === undefined ? {} : { orgs: options.orgs }),
      },
      clientId: options.clientId ?? 'client-1',
      audience: typeof audience === 'string' ? [audience] : audience,
      scope: options.scope ?? 'mcp',
      ttlSeconds: options.ttlSeconds ?? 3600,
      ...(options.familyId === undefined ? {} : { familyId: options.familyId }),
    },
    server.signingKeys,
    server.clock
  )
}

/**
 * The identity headers an upstream sees for a token minted with the defaults above: the token's
 * user and client, and never the token itself.
 */
export function expectDefaultIdentity(seen: Record<string, string>): void {
  expect(seen['x-user-id']).toBe('1001')
  expect(seen['x-user-name']).toBe('octocat')
  expect(seen['x-user-email']).toBe('octocat@example.com')
  expect(seen['x-client-id']).toBe('client-1')
  expect(seen['x-auth-scopes']).toBe('mcp')
  expect(seen.authorization).toBeUndefined()
}
