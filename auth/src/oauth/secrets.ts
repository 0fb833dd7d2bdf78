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
  const presented = Buffer.from(hashSecret(secret))
  const stored = Buffer.from(storedHash)
  return presented.length === stored.length && timingSafeEqual(presented, stored)
}
