import { createHash } from 'node:crypto'
import { sameInConstantTime } from './secrets.ts'

/** RFC 7636 §4.1: 43–128 characters from the unreserved set. */
const VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/
/** An S256 challenge is a base64url SHA-256: exactly 43 characters. */
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/

export function isS256Challenge(challenge: string): boolean {
  return S256_CHALLENGE.test(challenge)
}

/** RFC 7636 §4.6 with S256, the only method we accept (OAuth 2.1 §4.1.1). */
export function verifierMatches(verifier: string, challenge: string): boolean {
  if (!VERIFIER.test(verifier)) return false
  return sameInConstantTime(createHash('sha256').update(verifier).digest('base64url'), challenge)
}
