import type { TokenSubject } from '../oauth/access-token.ts'
import { hashSecret } from '../oauth/secrets.ts'
import { keys } from '../store/keys.ts'
import type { Store, WriteOperation } from '../store/store.ts'
import { type ReuseGrace, sealSuccessor } from './refresh-successor.ts'
import { newFamilyTokenKey, newRefreshToken, parseRefreshToken } from './refresh-token-format.ts'
import { familyWrites, type RefreshFamily, type RefreshTokenLifetimes } from './refresh-tokens.ts'

/**
 * Replaces the presented refresh token with a new one, one generation further. Taking the family's
 * live token, storing the new one and leaving the successor for the reuse grace are one atomic
 * step (one round trip), so a request that finds the old token gone also finds its successor.
 * Returns null when another request rotated it first.
 *
 * What is taken is the presented token, or, for a token ahead of a restored family
 * (`lookUpRefreshToken`), the family's `family-restored:` mark: once per restore, and the token
 * the backup held as live goes with it. The new generation is past both, so nothing issued before
 * comes back as live. Every rotation also clears that mark.
 *
 * Nothing is kept per rotation beyond the grace: the family record names its live token, and a
 * rotated token that comes back is recognised by the family it names (`refresh-token-format.ts`).
 * Only a token of the first format gets a marker (`refresh-rotated:`), once per family: the token
 * that replaces it names the family.
 */
export async function rotateRefreshToken(
  store: Store,
  family: RefreshFamily,
  token: string,
  options: {
    readonly ttl: RefreshTokenLifetimes
    readonly subject: TokenSubject
    readonly grace: ReuseGrace
    readonly aheadOfStore?: boolean
  }
): Promise<string | null> {
  const { ttl, subject, grace } = options
  const presentedHash = hashSecret(token)
  const named = parseRefreshToken(token)
  const tokenKey = family.tokenKey ?? newFamilyTokenKey()
  const generation = Math.max(family.generation ?? 0, named?.generation ?? 0) + 1
  const next = newRefreshToken(family.familyId, tokenKey, generation)
  const record: RefreshFamily = {
    ...family,
    subject,
    currentTokenHash: hashSecret(next),
    tokenKey,
    generation,
  }
  const restoredMark = keys.restoredFamily(family.familyId)
  const rotation: WriteOperation[] = [
    ...familyWrites(record, ttl.refreshTokenTtl),
    options.aheadOfStore && family.currentTokenHash
      ? { op: 'delete', key: keys.refreshToken(family.currentTokenHash) }
      : { op: 'delete', key: restoredMark },
  ]
  if (!named) {
    rotation.push({
      op: 'put',
      key: keys.rotatedRefreshToken(presentedHash),
      value: family.familyId,
      ttlSeconds: ttl.refreshTokenTtl,
    })
  }
  const rotatedAt = grace.clock.now()
  if (grace.seconds > 0) {
    rotation.push({
      op: 'put',
      key: keys.refreshSuccessor(presentedHash),
      value: sealSuccessor(token, next, family.familyId, rotatedAt),
      ttlSeconds: grace.seconds,
    })
  }
  const taken = options.aheadOfStore ? restoredMark : keys.refreshToken(presentedHash)
  try {
    return (await store.takeAndWrite(taken, rotation)) === null ? null : next
  } catch (error) {
    await keepSuccessorUnconfirmed(store, family, { token, next, rotatedAt }, ttl)
    throw error
  }
}

/**
 * A rotation whose answer never reached the client: a write that timed out, or that no replica
 * confirmed, may still have been applied (the command reached Redis; only its answer did not come
 * back). The client is told to retry with the token it holds, and that retry, once the reuse grace
 * is over, would look like a replay and revoke the family. So the successor is kept for it, past
 * the grace, while the successor is the family's live token and for at most an access token's
 * lifetime: every presenter of the old token gets that same successor (the user re-checked, past
 * the grace), and the family keeps one line of tokens. Written only while the
 * successor is live (a guarded write, sent right after the rotation on the same connection, so
 * Redis runs it after the rotation, whenever that runs). Best effort: when the store does not
 * answer this either, the rotation most likely never happened.
 */
const UNCONFIRMED_MARGIN_SECONDS = 300

async function keepSuccessorUnconfirmed(
  store: Store,
  family: RefreshFamily,
  rotation: { readonly token: string; readonly next: string; readonly rotatedAt: number },
  ttl: RefreshTokenLifetimes
): Promise<void> {
  const { token, next, rotatedAt } = rotation
  const sealed = sealSuccessor(token, next, family.familyId, rotatedAt, true)
  await store
    .batch(
      [
        {
          op: 'put',
          key: keys.refreshSuccessor(hashSecret(token)),
          value: sealed,
          // A client retries at the latest when its access token runs out.
          ttlSeconds: ttl.accessTokenTtl + UNCONFIRMED_MARGIN_SECONDS,
        },
      ],
      { ifUnchanged: { key: keys.refreshToken(hashSecret(next)), value: family.familyId } }
    )
    .catch(() => false)
}
