import { createPrivateKey, type JsonWebKey, type KeyObject } from 'node:crypto'
import {
  type CryptoKey,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
} from 'jose'
import { keys } from '../store/keys.ts'
import { DamagedRecord, type Store } from '../store/store.ts'
import type { SigningAlgorithm } from './compact-jws.ts'
import { parsePinnedKey } from './pinned-key.ts'

/**
 * The algorithm of newly generated keys. ES256 (EC P-256): the token endpoint signs one access
 * token per request, and ES256 signs in about a quarter of RS256's CPU time (docs/benchmarks.md,
 * `scripts/bench/signing.ts`); verifying costs a little more, but `/verify` checks each token once
 * and then serves it from its cache. Keys already in a ring, and pinned RSA keys, stay RS256.
 */
const GENERATED_ALG = 'ES256'
/** How many retired keys stay published, so tokens signed before a rotation still verify. */
const PREVIOUS_KEYS_KEPT = 2

export interface SigningKey {
  readonly kid: string
  readonly alg: SigningAlgorithm
  readonly privateKey: KeyObject
}

/** The JWKS a verifier fetches (RFC 7517): public parts only. */
export interface PublicKeySet {
  readonly keys: readonly JWK[]
}

export interface SigningKeys {
  /** The key new tokens are signed with. */
  current(): SigningKey
  /** A published public key by `kid`, or undefined. */
  publicKey(kid: string): Promise<CryptoKey | undefined>
  jwks(): PublicKeySet
  /** Re-reads the ring from the store (after a rotation done by another replica or the CLI). */
  reload(): Promise<void>
}

/** The ring as stored (private JWKs, each with `kid` and `alg`). */
interface StoredKeyRing {
  readonly current: JWK
  readonly previous: readonly JWK[]
}

/**
 * Loads the signing keys: the pinned key from `JWT_PRIVATE_KEY_B64` when given, else the ring in
 * the store, generating it on first start. Creation is write-if-absent, so replicas starting
 * together agree on one key.
 */
export async function loadSigningKeys(store: Store, pinned?: string): Promise<SigningKeys> {
  if (pinned) return keyRingFrom({ current: parsePinnedKey(pinned), previous: [] })
  let ring = await readRing(store)
  if (!ring) {
    await store.put(keys.signingKeys(), JSON.stringify({ current: await newJwk(), previous: [] }), {
      onlyIfAbsent: true,
    })
    ring = await readRing(store)
    if (!ring) throw new Error('signing keys could not be stored')
  }
  let state = await keyRingFrom(ring)
  return {
    current: () => state.current(),
    publicKey: (kid) => state.publicKey(kid),
    jwks: () => state.jwks(),
    async reload() {
      const latest = await readRing(store)
      // Swapped wholesale, so readers never see half a ring.
      if (latest) state = await keyRingFrom(latest)
    },
  }
}

/** Makes a new current key and keeps the old one published; returns the new `kid`. */
export async function rotateSigningKeys(store: Store): Promise<string> {
  const ring = await readRing(store)
  const current = await newJwk()
  const previous = ring ? [ring.current, ...ring.previous].slice(0, PREVIOUS_KEYS_KEPT) : []
  await store.put(keys.signingKeys(), JSON.stringify({ current, previous }))
  return String(current.kid)
}

/** The stored ring; `DamagedRecord` when it is not one this gateway could sign with. */
async function readRing(store: Store): Promise<StoredKeyRing | null> {
  const raw = await store.get(keys.signingKeys())
  if (raw === null) return null
  const problem = keyRingProblem(raw)
  if (problem) throw new DamagedRecord(keys.signingKeys(), problem)
  return JSON.parse(raw) as StoredKeyRing
}

async function newJwk(): Promise<JWK> {
  const { privateKey } = await generateKeyPair(GENERATED_ALG, { extractable: true })
  const jwk = await exportJWK(privateKey)
  return { ...jwk, alg: GENERATED_ALG, kid: await calculateJwkThumbprint(jwk), use: 'sig' }
}

/**
 * Why a stored key ring (one a backup brings, say) could not be signed and verified with, or
 * undefined: every key a private JWK Node can read, of an algorithm the gateway signs with.
 */
export function keyRingProblem(value: string): string | undefined {
  let ring: StoredKeyRing
  try {
    ring = JSON.parse(value) as StoredKeyRing
  } catch {
    return 'not JSON'
  }
  if (typeof ring !== 'object' || ring === null || !Array.isArray(ring.previous ?? [])) {
    return 'not a key ring ({current, previous})'
  }
  for (const [at, jwk] of [ring.current, ...(ring.previous ?? [])].entries()) {
    const which = at === 0 ? 'the current key' : `previous key ${at}`
    if (jwk?.alg !== 'ES256' && jwk?.alg !== 'RS256') return `${which}: not an ES256 or RS256 key`
    try {
      createPrivateKey({ key: jwk as JsonWebKey, format: 'jwk' })
    } catch {
      return `${which}: not a private key`
    }
  }
  return undefined
}

async function keyRingFrom(ring: StoredKeyRing): Promise<SigningKeys> {
  const all = [ring.current, ...ring.previous]
  const withKids = await Promise.all(
    all.map(async (jwk) => ({ ...jwk, kid: jwk.kid ?? (await calculateJwkThumbprint(jwk)) }))
  )
  const [current] = withKids
  if (!current?.alg) throw new Error('signing key ring has no current key')
  const privateKey = createPrivateKey({ key: current as JsonWebKey, format: 'jwk' })
  const alg = current.alg as SigningAlgorithm
  if (alg !== 'ES256' && alg !== 'RS256')
    throw new Error(`signing key ring: ${alg} keys are not supported`)
  const publicJwks = withKids.map(publicPart)
  const publicKeys = new Map<string, Promise<CryptoKey>>()
  const byKid = new Map(publicJwks.map((jwk) => [jwk.kid, jwk]))

  return {
    current: () => ({ kid: current.kid, alg, privateKey }),
    async publicKey(kid) {
      const jwk = byKid.get(kid)
      if (!jwk?.alg) return undefined
      let key = publicKeys.get(kid)
      if (!key) {
        key = importJWK(jwk, jwk.alg) as Promise<CryptoKey>
        publicKeys.set(kid, key)
      }
      return key
    },
    jwks: () => ({ keys: publicJwks }),
    reload: async () => {},
  }
}

function publicPart(jwk: JWK & { kid: string }): JWK & { kid: string } {
  const { kty, crv, x, y, n, e, alg, kid } = jwk
  return Object.fromEntries(
    Object.entries({ kty, crv, x, y, n, e, alg, kid, use: 'sig' }).filter(
      ([, v]) => v !== undefined
    )
  ) as unknown as JWK & { kid: string }
}
