import { createHmac, createSecretKey } from 'node:crypto'
import { newSecret, sameInConstantTime } from '../oauth/secrets.ts'

/**
 * A refresh token names its family and its place in it: `<family id>.<generation>.<random>.<mac>`,
 * the MAC (HMAC-SHA-256, 128 bits) taken under a key kept in the family record. A rotated token of
 * a live family is then told from a forged one without a marker per rotation: it names the family,
 * its MAC holds, and it is not the family's live token. Without the family key (a stranger who saw
 * a family id in an access token's `fam` claim) nobody can make a token that revokes someone's
 * family. The generation (1 for a family's first token, one more at each rotation) tells a
 * replayed token (behind the family) from one the store has lost the rotation of (ahead of it: a
 * Redis that lost its last writes, a backup restored).
 *
 * Tokens of the formats before are still accepted: `<family id>.<random>.<mac>` (no generation),
 * and 256 random bits without a dot, found by hash, their reuse by the marker written when they
 * were rotated.
 */
export interface NamedRefreshToken {
  readonly familyId: string
  /** Which of its family's tokens it is; undefined for a token of the format before. */
  readonly generation: number | undefined
  readonly random: string
  readonly mac: string
}

/** A new key for the MACs of a family's refresh tokens (256 bits, base64url). */
export function newFamilyTokenKey(): string {
  return newSecret()
}

export function newRefreshToken(familyId: string, tokenKey: string, generation: number): string {
  const random = newSecret()
  const named = `${familyId}.${generation}.${random}`
  return `${named}.${mac(tokenKey, named)}`
}

const GENERATION = /^[1-9]\d{0,14}$/

/** The parts of a refresh token that names its family; null for one of the format before. */
export function parseRefreshToken(token: string): NamedRefreshToken | null {
  const parts = token.split('.')
  if (parts.length === 3) {
    const [familyId, random, presentedMac] = parts as [string, string, string]
    if (!familyId || !random || !presentedMac) return null
    return { familyId, generation: undefined, random, mac: presentedMac }
  }
  const [familyId, generation, random, presentedMac] = parts
  if (parts.length !== 4 || !familyId || !random || !presentedMac) return null
  if (!GENERATION.test(generation ?? '')) return null
  return { familyId, generation: Number(generation), random, mac: presentedMac }
}

/** Whether the token was made with the family's key: it was issued to that family once. */
export function issuedWithKey(token: NamedRefreshToken, tokenKey: string): boolean {
  const named =
    token.generation === undefined
      ? `${token.familyId}.${token.random}`
      : `${token.familyId}.${token.generation}.${token.random}`
  return sameInConstantTime(token.mac, mac(tokenKey, named))
}

function mac(tokenKey: string, named: string): string {
  // A KeyObject: given raw bytes, Node checks their type by catching exceptions (15 µs a MAC).
  return createHmac('sha256', createSecretKey(Buffer.from(tokenKey, 'base64url')))
    .update(named)
    .digest()
    .subarray(0, 16)
    .toString('base64url')
}
