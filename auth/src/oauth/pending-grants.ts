import { keys } from '../store/keys.ts'
import type { Store, WriteOperation } from '../store/store.ts'

/**
 * Grants handed out but not yet turned into tokens: an authorization code, a device authorization
 * the user approved. Each already names the refresh family its tokens will start, and `/token`
 * starts no family that carries a revocation marker (`first-tokens.ts`). Withdrawing a consent
 * therefore marks these families too: a code or approved device code redeemed afterwards yields
 * nothing, instead of fresh tokens for the application just disconnected.
 *
 * The index is written with the grant, in the same atomic step, and never at redemption: a member
 * already redeemed is a live family of the same user and client, which the withdrawal revokes
 * anyway, so the code exchange costs no extra write. Members go with the set, one grant lifetime
 * after the last was added.
 */
export interface PendingGrant {
  readonly userId: string
  readonly clientId: string
  readonly familyId: string
}

/** The index entry of a grant, for the batch that stores the grant itself. */
export function pendingGrantWrite(grant: PendingGrant, ttlSeconds: number): WriteOperation {
  return {
    op: 'addToSet',
    key: keys.pendingFamilies(grant.userId, grant.clientId),
    member: grant.familyId,
    ttlSeconds,
  }
}

/** The families of the user's grants to the client that may still be redeemed. */
export function pendingGrantFamilies(
  store: Store,
  userId: string,
  clientId: string
): Promise<string[]> {
  return store.setMembers(keys.pendingFamilies(userId, clientId))
}
