import { createHash, timingSafeEqual } from 'node:crypto'
import { randomBytesFromPool } from './random-pool.ts'

/**
 * Opaque credentials (client secrets, registration tokens, codes, refresh tokens) are 256-bit
 * random strings. Only their SHA-256 is stored: with that much entropy a fast hash is enough,
 * and a stolen database yields nothing usable.
 */
export function newSecret(bytes = 32): string {
  return randomBytesFromPool(bytes).toString('base64url')
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url')
}

/** Compares a presented secret with a stored hash in constant time. */
export function secretMatches(secret: string, storedHash: string): boolean {
  return sameInConstantTime(hashSecret(secret), storedHash)
}

/**
 * Whether two strings are equal, in a time that does not depend on where they differ (only on
 * their length, which is public here: a hash, a MAC, a challenge of fixed size).
 */
export function sameInConstantTime(presented: string, expected: string): boolean {
  const a = Buffer.from(presented)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}
