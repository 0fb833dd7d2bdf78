import type { ClientRecord } from '../clients/client-registry.ts'
import type { Store } from '../store/store.ts'
import type { AccessTokenVerifier, VerifiedToken } from '../verify/token-verifier.ts'
import type { ReuseGrace } from './refresh-successor.ts'
import { lookUpRefreshToken } from './refresh-token-lookup.ts'
import { findRefreshFamily, type RefreshFamily } from './refresh-tokens.ts'

export type FoundToken =
  | { readonly kind: 'refresh_token'; readonly family: RefreshFamily }
  | { readonly kind: 'access_token'; readonly token: VerifiedToken }

/**
 * Finds what a presented token is, for revocation and introspection: a live refresh token (or one
 * replaced within the reuse grace, which still works), or a valid access token of ours. Only
 * tokens issued to `client` are found: another client's token is as good as unknown
 * (RFC 7009 §2.1, RFC 7662 §2.2).
 */
export async function findClientToken(
  store: Store,
  verifier: AccessTokenVerifier,
  client: ClientRecord,
  token: string,
  hint: string | undefined,
  grace?: ReuseGrace
): Promise<FoundToken | null> {
  const asRefresh = async (): Promise<FoundToken | null> => {
    const lookup = await lookUpRefreshToken(store, token, grace)
    const family =
      lookup.outcome === 'live'
        ? lookup.family
        : lookup.outcome === 'just_rotated'
          ? await findRefreshFamily(store, lookup.familyId)
          : null
    return family?.clientId === client.client_id ? { kind: 'refresh_token', family } : null
  }
  const asAccess = async (): Promise<FoundToken | null> => {
    try {
      const verified = await verifier.verify(token)
      return verified.clientId === client.client_id
        ? { kind: 'access_token', token: verified }
        : null
    } catch {
      return null
    }
  }
  const order = hint === 'refresh_token' ? [asRefresh, asAccess] : [asAccess, asRefresh]
  for (const attempt of order) {
    const found = await attempt()
    if (found) return found
  }
  return null
}
