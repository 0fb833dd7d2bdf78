import { createPrivateKey, type JsonWebKey, type KeyObject } from 'node:crypto'
import {
  type CryptoKey,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
} from 'jose'
import { type Clock, epochSeconds } from '../clock.ts'
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
/**
 * How often a running gateway reads the ring again, so that a rotation (by the CLI or another
 * replica) reaches every replica: each signs with the new key, and publishes it, within this.
 */
export const KEY_RING_RELOAD_SECONDS = 60
/**
 * Retired keys published at most, the newest kept: a bound for a ring rotated again and again
 * within one access-token lifetime, when keeping every key its tokens need would grow it.
 */
const RETIRED_KEYS_KEPT_AT_MOST = 8

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
  /** Stops re-reading the ring on its own (the process stops; the store is about to close). */
  stop(): void
}

/**
 * A retired key as stored: a private JWK and when it stopped being current (epoch seconds; absent
 * in rings stored before retirement was dated, then dated at the next rotation).
 */
type RetiredJwk = JWK & { readonly retired_at?: number }

/** The ring as stored (private JWKs, each with `kid` and `alg`). */
interface StoredKeyRing {
  readonly current: JWK
  readonly previous: readonly RetiredJwk[]
  /** When `current` was made by a rotation (epoch seconds); absent for a ring made at start. */
  readonly rotated_at?: number
}

/**
 * Loads the signing keys: the pinned key from `JWT_PRIVATE_KEY_B64` when given, else the ring in
 * the store, generating it on first start. Creation is write-if-absent, so replicas starting
 * together agree on one key. The ring is read again every `reloadSeconds`, whether or not this
 * process signs or serves anything meanwhile: a replica idle through two rotations must not sign
 * its next token with a key no longer published.
 */
export async function loadSigningKeys(
  store: Store,
  pinned: string | undefined,
  options: { readonly reloadSeconds?: number } = {}
): Promise<SigningKeys> {
  if (pinned) return keyRingFrom({ current: parsePinnedKey(pinned), previous: [] })
  let raw = await readRing(store)
  if (raw === null) {
    await store.put(keys.signingKeys(), JSON.stringify({ current: await newJwk(), previous: [] }), {
      onlyIfAbsent: true,
    })
    raw = await readRing(store)
    if (raw === null) throw new Error('signing keys could not be stored')
  }
  let state = await keyRingFrom(JSON.parse(raw) as StoredKeyRing)
  let reading: Promise<void> | undefined
  const reload = () => {
    reading ??= readRing(store)
      .then(async (latest) => {
        if (latest === null || latest === raw) return
        // Swapped wholesale, so readers never see half a ring.
        state = await keyRingFrom(JSON.parse(latest) as StoredKeyRing)
        raw = latest
      })
      .finally(() => {
        reading = undefined
      })
    return reading
  }
  // Failures are the store's, seen wherever it is used; the ring read last keeps serving. The
  // timer does not keep the process alive.
  const timer = setInterval(
    () => void reload().catch(() => {}),
    (options.reloadSeconds ?? KEY_RING_RELOAD_SECONDS) * 1000
  )
  timer.unref()
  return {
    current: () => state.current(),
    publicKey: (kid) => state.publicKey(kid),
    jwks: () => state.jwks(),
    reload,
    stop: () => clearInterval(timer),
  }
}

/**
 * Makes a new current key. The one it replaces stays published while tokens it signed may live:
 * `keepSeconds` after this rotation (the access-token lifetime, and the reload interval during
 * which a replica may still sign with it). Keys retired longer ago are dropped, as are the oldest
 * beyond `RETIRED_KEYS_KEPT_AT_MOST`.
 */
export async function rotateSigningKeys(
  store: Store,
  options: { readonly clock: Clock; readonly keepSeconds: number }
): Promise<{ readonly kid: string; readonly published: string[]; readonly dropped: string[] }> {
  const raw = await readRing(store)
  const ring = raw === null ? undefined : (JSON.parse(raw) as StoredKeyRing)
  const now = epochSeconds(options.clock)
  const current = await newJwk()
  const retired: RetiredJwk[] = ring
    ? [ring.current, ...ring.previous].map((jwk) => ({
        ...jwk,
        retired_at: (jwk as RetiredJwk).retired_at ?? now,
      }))
    : []
  const kept = retired
    .filter((jwk) => now - (jwk.retired_at ?? now) < options.keepSeconds)
    .slice(0, RETIRED_KEYS_KEPT_AT_MOST)
  const rotated: StoredKeyRing = { current, previous: kept, rotated_at: now }
  await store.put(keys.signingKeys(), JSON.stringify(rotated))
  const keptKids = new Set(kept.map((jwk) => jwk.kid))
  return {
    kid: String(current.kid),
    published: [current, ...kept].map((jwk) => String(jwk.kid)),
    dropped: retired.filter((jwk) => !keptKids.has(jwk.kid)).map((jwk) => String(jwk.kid)),
  }
}

/** The stored ring as written; `DamagedRecord` when it is not one this gateway could sign with. */
async function readRing(store: Store): Promise<string | null> {
  const raw = await store.get(keys.signingKeys())
  if (raw === null) return null
  const problem = keyRingProblem(raw)
  if (problem) throw new DamagedRecord(keys.signingKeys(), problem)
  return raw
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
    stop: () => {},
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
