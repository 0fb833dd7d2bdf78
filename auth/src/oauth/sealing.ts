import {
  createCipheriv,
  createDecipheriv,
  createSecretKey,
  hkdfSync,
  type KeyObject,
} from 'node:crypto'
import { randomBytesFromPool } from './random-pool.ts'

/**
 * Values kept encrypted at rest (AES-256-GCM): the users' upstream grants and, for the reuse
 * grace, the successor of a just-rotated refresh token. Sealed as `iv.tag.ciphertext` in
 * base64url; the associated data binds a value to the record it belongs to.
 */
export function sealingKey(secret: string, purpose: string): KeyObject {
  // A KeyObject: Node checks a raw key's type by catching exceptions, several times a call.
  return createSecretKey(Buffer.from(hkdfSync('sha256', secret, 'mcp-oauth-gateway', purpose, 32)))
}

export function seal(key: KeyObject, plaintext: string, associatedData: string): string {
  const iv = randomBytesFromPool(12)
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  cipher.setAAD(Buffer.from(associatedData))
  const sealed = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
  return [iv, cipher.getAuthTag(), sealed].map((b) => b.toString('base64url')).join('.')
}

/** The plaintext, or null when the value was sealed under another key or for another record. */
export function unseal(key: KeyObject, value: string, associatedData: string): string | null {
  const [iv, tag, sealed] = value.split('.').map((part) => Buffer.from(part, 'base64url'))
  if (!iv || !tag || !sealed) return null
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv)
    decipher.setAAD(Buffer.from(associatedData))
    decipher.setAuthTag(tag)
    return Buffer.concat([decipher.update(sealed), decipher.final()]).toString('utf8')
  } catch {
    return null
  }
}
