import { hashSecret } from '../oauth/secrets.ts'
import { keys } from '../store/keys.ts'
import type { Store } from '../store/store.ts'
import { parseRecord } from '../store/stored-record.ts'
import { openSuccessor, type ReuseGrace } from './refresh-successor.ts'
import { issuedWithKey, parseRefreshToken } from './refresh-token-format.ts'
import type { RefreshFamily } from './refresh-tokens.ts'

export type RefreshLookup =
  | {
      readonly outcome: 'live'
      readonly family: RefreshFamily
      /** The family was revoked while it was being created (a code replay racing it). */
      readonly revoked: boolean
      /**
       * The token is ahead of the store: a later generation than the family's live one, with the
       * family's MAC, in a family a restore brought back. The backup predates the rotation that
       * issued it: it is the client's newest token, not a replay. Believed once per restore (the
       * rotation takes the family's `family-restored:` mark), since the MAC key is in the backup.
       */
      readonly aheadOfStore?: true
    }
  /** Replaced within the reuse grace: the caller hands out `successor` again. */
  | {
      readonly outcome: 'just_rotated'
      readonly familyId: string
      readonly successor: string
      /** Past the grace: a rotation whose answer never reached its client. */
      readonly unconfirmed: boolean
    }
  | { readonly outcome: 'reused'; readonly familyId: string }
  | { readonly outcome: 'unknown' }

/**
 * Finds the family of a presented refresh token without using it up, and whether the family is
 * revoked: one round trip (`MGET`) for a token that names its family, two for one of the format
 * before. Without `grace`, a replaced token is `reused`, unless its rotation was never confirmed
 * to its client (`refresh-rotation.ts`).
 */
export async function lookUpRefreshToken(
  store: Store,
  token: string,
  grace?: ReuseGrace
): Promise<RefreshLookup> {
  const tokenHash = hashSecret(token)
  const named = parseRefreshToken(token)
  if (!named) return lookUpEarlierToken(store, token, tokenHash, grace)
  const [live, storedFamily, revoked, rotation, restored] = await store.getMany([
    keys.refreshToken(tokenHash),
    keys.refreshFamily(named.familyId),
    keys.revokedFamily(named.familyId),
    keys.refreshSuccessor(tokenHash),
    keys.restoredFamily(named.familyId),
  ])
  const family = parseRecord<RefreshFamily>(storedFamily, keys.refreshFamily(named.familyId))
  if (live === named.familyId && family?.currentTokenHash === tokenHash) {
    return { outcome: 'live', family, revoked: revoked !== null }
  }
  const successor = openSuccessor(token, tokenHash, rotation, grace, family?.currentTokenHash)
  if (successor) return { outcome: 'just_rotated', ...successor }
  // Not the live token, but one the family issued: it was rotated and came back, or a restored
  // backup predates the rotation that issued it.
  if (family?.tokenKey && issuedWithKey(named, family.tokenKey)) {
    const ahead = named.generation !== undefined && named.generation > (family.generation ?? 0)
    if (ahead && restored !== null) {
      return { outcome: 'live', family, revoked: revoked !== null, aheadOfStore: true }
    }
    return { outcome: 'reused', familyId: named.familyId }
  }
  return { outcome: 'unknown' }
}

/** A token issued before tokens named their family: found by hash, its reuse by its marker. */
async function lookUpEarlierToken(
  store: Store,
  token: string,
  tokenHash: string,
  grace?: ReuseGrace
): Promise<RefreshLookup> {
  const [familyId, rotatedFrom, rotation] = await store.getMany([
    keys.refreshToken(tokenHash),
    keys.rotatedRefreshToken(tokenHash),
    keys.refreshSuccessor(tokenHash),
  ])
  if (familyId) {
    const [storedFamily, revoked] = await store.getMany([
      keys.refreshFamily(familyId),
      keys.revokedFamily(familyId),
    ])
    const family = parseRecord<RefreshFamily>(storedFamily, keys.refreshFamily(familyId))
    if (family?.currentTokenHash === tokenHash) {
      return { outcome: 'live', family, revoked: revoked !== null }
    }
  }
  // A rotation of such a token never confirmed to its client is believed within the grace only:
  // the token that replaced it names its family, and the next such rotation is ordinary.
  const successor = openSuccessor(token, tokenHash, rotation, grace, undefined)
  if (successor) return { outcome: 'just_rotated', ...successor }
  if (rotatedFrom) return { outcome: 'reused', familyId: rotatedFrom }
  return { outcome: 'unknown' }
}
