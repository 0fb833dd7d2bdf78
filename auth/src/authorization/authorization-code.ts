import type { TokenSubject } from '../oauth/access-token.ts'
import { hashSecret, newSecret } from '../oauth/secrets.ts'
import { keys } from '../store/keys.ts'
import type { Store } from '../store/store.ts'

/** What an authorization code stands for: everything the token request is checked against. */
export interface AuthorizationCodeGrant {
  readonly clientId: string
  readonly redirectUri: string
  readonly codeChallenge: string
  readonly scopes: readonly string[]
  readonly resources: readonly string[]
  readonly subject: TokenSubject
  /** The refresh family the redemption will start (so a replay can revoke it). */
  readonly familyId: string
}

export async function issueAuthorizationCode(
  store: Store,
  grant: AuthorizationCodeGrant,
  ttlSeconds: number
): Promise<string> {
  const code = newSecret()
  await store.put(keys.authorizationCode(hashSecret(code)), JSON.stringify(grant), { ttlSeconds })
  return code
}

export type CodeRedemption =
  | { readonly outcome: 'redeemed'; readonly grant: AuthorizationCodeGrant }
  /** Presented again after a redemption: whatever it issued must be revoked (OAuth 2.1 §4.1.3). */
  | { readonly outcome: 'replayed'; readonly familyId: string }
  | { readonly outcome: 'unknown' }

/**
 * Redeems a code exactly once: taking it and marking it redeemed are one atomic step in Redis
 * (`takeAndWrite`), so concurrent redemptions race there, not here, and one that loses the race,
 * or comes later, always finds the marker and is recognised as a replay. Two round trips.
 */
export async function redeemAuthorizationCode(
  store: Store,
  code: string,
  replayWindowSeconds: number
): Promise<CodeRedemption> {
  const codeHash = hashSecret(code)
  const raw = await store.get(keys.authorizationCode(codeHash))
  if (raw) {
    const grant = JSON.parse(raw) as AuthorizationCodeGrant
    const marker = {
      op: 'put',
      key: keys.redeemedCode(codeHash),
      value: grant.familyId,
      ttlSeconds: replayWindowSeconds,
    } as const
    if ((await store.takeAndWrite(keys.authorizationCode(codeHash), [marker])) !== null) {
      return { outcome: 'redeemed', grant }
    }
    return { outcome: 'replayed', familyId: grant.familyId }
  }
  const familyId = await store.get(keys.redeemedCode(codeHash))
  return familyId ? { outcome: 'replayed', familyId } : { outcome: 'unknown' }
}
