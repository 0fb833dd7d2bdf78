import { type KeyObject, sign } from 'node:crypto'

/** The signing algorithms the gateway's keys use (RFC 7518 §3.1). */
export type SigningAlgorithm = 'ES256' | 'RS256'

/**
 * A JWS in compact serialization (RFC 7515 §7.1) over a JSON payload: the access tokens' only
 * signing step. Signed synchronously by Node's crypto on the request's own thread: through
 * WebCrypto each token was an asynchronous job handed to the thread pool and back, about twice
 * the CPU time of the signature itself (docs/benchmarks.md). Tokens are verified with jose.
 */
export function signCompactJws(
  header: { readonly alg: SigningAlgorithm; readonly kid: string; readonly typ: string },
  payload: object,
  key: KeyObject
): string {
  const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`
  // The key goes in alone (`{ key, dsaEncoding }` makes Node test the wrapper's type by catching
  // exceptions: half the cost of an ES256 signature), so ECDSA signs in DER.
  const signature = sign('sha256', Buffer.from(input), key)
  const encoded = header.alg === 'ES256' ? rawEcdsaSignature(signature, 32) : signature
  return `${input}.${encoded.toString('base64url')}`
}

/**
 * RFC 7518 §3.4: a JWS carries ECDSA's r and s as two fixed-size big-endian integers, where
 * OpenSSL writes `SEQUENCE { INTEGER r, INTEGER s }` (DER, minimal, a leading zero byte for a
 * set high bit). A P-256 signature's sequence is under 128 bytes: its length is one byte.
 */
export function rawEcdsaSignature(der: Buffer, size: number): Buffer {
  const raw = Buffer.alloc(size * 2)
  let offset = 2 // SEQUENCE tag and length
  for (const half of [0, 1]) {
    const length = der[offset + 1] as number
    const start = offset + 2
    const value = der.subarray(start, start + length)
    const significant = value.subarray(Math.max(0, value.length - size))
    significant.copy(raw, half * size + size - significant.length)
    offset = start + length
  }
  return raw
}

function base64url(text: string): string {
  return Buffer.from(text).toString('base64url')
}
