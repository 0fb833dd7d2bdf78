import { createPrivateKey, type JsonWebKey } from 'node:crypto'
import type { JWK } from 'jose'

/** RFC 7518 §3.3: RS256 keys of at least 2048 bits. */
const MIN_RSA_BITS = 2048

/**
 * The signing key pinned by `JWT_PRIVATE_KEY_B64`: a base64-encoded PEM (PKCS#8 or PKCS#1) or
 * JWK, RSA of 2048 bits or more (RS256) or EC P-256 (ES256), as a private JWK with its `alg`.
 * Checked with the rest of the configuration at start (config.ts), so a mistyped key stops it
 * with one line; `Error`'s message says what is wrong.
 */
export function parsePinnedKey(base64: string): JWK {
  const text = Buffer.from(base64, 'base64').toString('utf8').trim()
  let jwk: JWK
  try {
    const key = text.startsWith('{')
      ? createPrivateKey({ key: JSON.parse(text) as JsonWebKey, format: 'jwk' })
      : createPrivateKey({ key: text, format: 'pem' })
    jwk = key.export({ format: 'jwk' }) as JWK
  } catch (cause) {
    throw new Error('not a base64-encoded private key (PEM or JWK)', { cause })
  }
  if (jwk.kty === 'RSA') {
    const bits = Buffer.from(jwk.n ?? '', 'base64url').length * 8
    if (bits < MIN_RSA_BITS) {
      throw new Error(`an RSA key of ${bits} bits; RS256 needs ${MIN_RSA_BITS} or more`)
    }
    return { ...jwk, alg: 'RS256', use: 'sig' }
  }
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return { ...jwk, alg: 'ES256', use: 'sig' }
  throw new Error('only RSA and EC P-256 keys are supported')
}
