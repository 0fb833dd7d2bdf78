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
 * The live token taken is the presented one, or, for a token ahead of the store (`lookUpRefreshToken`
 * found the store had lost the rotation that issued it), the one the store still holds as live.
 * The new generation is past both, so no token issued before the loss can come back as live.
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
  }
): Promise<string | null> {
  const { ttl, subject, grace } = options
  const presentedHash = hashSecret(token)
  const named = parseRefreshToken(token)
  const liveHash = family.currentTokenHash ?? presentedHash
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
  const rotation: WriteOperation[] = familyWrites(record, ttl.refreshTokenTtl)
  if (!named) {
    rotation.push({
      op: 'put',
      key: keys.rotatedRefreshToken(presentedHash),
      value: family.familyId,
      ttlSeconds: ttl.refreshTokenTtl,
    })
  }
  if (grace.seconds > 0) {
    rotation.push({
      op: 'put',
      key: keys.refreshSuccessor(presentedHash),
      value: sealSuccessor(token, next, family.familyId, grace.clock.now()),
      ttlSeconds: grace.seconds,
    })
  }
  let taken: string | null
  try {
    taken = await store.takeAndWrite(keys.refreshToken(liveHash), rotation)
  } catch (error) {
    await undoRotation(store, family, presentedHash, next, ttl)
    throw error
  }
  return taken === null ? null : next
}

/**
 * Takes back a rotation the client was never told of. A write that timed out, or that no replica
 * confirmed, may still have been applied (the command reached Redis; only its answer did not come
 * back): the client is told to retry with the token it holds, and that retry, once the reuse grace
 * is over, would look like a replay and revoke the family. So the family goes back to what it was,
 * in one step that only applies while the successor is still live (nobody else was handed it and
 * used it): sent right after the rotation on the same connection, Redis runs it after the
 * rotation, whenever that runs. Best effort: when the store does not answer this either, the
 * rotation most likely never happened.
 */
async function undoRotation(
  store: Store,
  family: RefreshFamily,
  presentedHash: string,
  successor: string,
  ttl: RefreshTokenLifetimes
): Promise<void> {
  await store
    .takeAndWrite(keys.refreshToken(hashSecret(successor)), [
      ...familyWrites(family, ttl.refreshTokenTtl),
      { op: 'delete', key: keys.refreshSuccessor(presentedHash) },
      { op: 'delete', key: keys.rotatedRefreshToken(presentedHash) },
    ])
    .catch(() => null)
}
