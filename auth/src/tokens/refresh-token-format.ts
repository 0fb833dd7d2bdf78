import { createHmac, createSecretKey } from 'node:crypto'
import { newSecret, sameInConstantTime } from '../oauth/secrets.ts'

/**
 * A refresh token names its family: `<family id>.<random>.<mac>`, the MAC (HMAC-SHA-256, 128
 * bits) taken under a key kept in the family record. A rotated token of a live family is then
 * told from a forged one without a marker per rotation: it names the family, its MAC holds, and it
 * is not the family's live token. Without the family key (a stranger who saw a family id in an
 * access token's `fam` claim) nobody can make a token that revokes someone's family.
 *
 * Tokens issued before the format (256 random bits, base64url, no dot) are still accepted: they
 * are found by hash, and their reuse by the marker written when they were rotated.
 */
export interface NamedRefreshToken {
  readonly familyId: string
  readonly random: string
  readonly mac: string
}

/** A new key for the MACs of a family's refresh tokens (256 bits, base64url). */
export function newFamilyTokenKey(): string {
  return newSecret()
}

export function newRefreshToken(familyId: string, tokenKey: string): string {
  const random = newSecret()
  return `${familyId}.${random}.${mac(tokenKey, familyId, random)}`
}

/** The parts of a refresh token that names its family; null for one of the format before. */
export function parseRefreshToken(token: string): NamedRefreshToken | null {
  const [familyId, random, presentedMac, extra] = token.split('.')
  if (!familyId || !random || !presentedMac || extra !== undefined) return null
  return { familyId, random, mac: presentedMac }
}

/** Whether the token was made with the family's key: it was issued to that family once. */
export function issuedWithKey(token: NamedRefreshToken, tokenKey: string): boolean {
  return sameInConstantTime(token.mac, mac(tokenKey, token.familyId, token.random))
}

function mac(tokenKey: string, familyId: string, random: string): string {
  // A KeyObject: given raw bytes, Node checks their type by catching exceptions (15 µs a MAC).
  return createHmac('sha256', createSecretKey(Buffer.from(tokenKey, 'base64url')))
    .update(`${familyId}.${random}`)
    .digest()
    .subarray(0, 16)
    .toString('base64url')
}
