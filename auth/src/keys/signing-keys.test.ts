import { generateKeyPairSync } from 'node:crypto'
import { type CryptoKey, compactVerify, decodeProtectedHeader } from 'jose'
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest'
import { manualClock } from '../../../tests/support/auth-app.ts'
import { createTestRedisStore } from '../../../tests/support/stores.ts'
import { issueAccessToken } from '../oauth/access-token.ts'
import { loadSigningKeys, rotateSigningKeys } from './signing-keys.ts'

const HOUR = 3600

describe('signing keys', () => {
  const store = createTestRedisStore()
  let clock = manualClock(Date.UTC(2030, 0, 1))
  beforeEach(() => {
    clock = manualClock(Date.UTC(2030, 0, 1))
  })
  afterEach(async () => {
    await store.clear()
  })
  afterAll(async () => {
    await store.close()
  })

  const sign = async (keys: Awaited<ReturnType<typeof loadSigningKeys>>) =>
    (
      await issueAccessToken(
        {
          issuer: 'http://localhost:8080',
          subject: { id: '1', login: 'octocat' },
          clientId: 'c',
          audience: ['http://localhost:8080/echo/mcp'],
          scope: 'mcp',
          ttlSeconds: 60,
        },
        keys,
        { now: () => Date.now() }
      )
    ).token

  it('generates one key, persisted in the store and shared by every replica', async () => {
    const [a, b] = await Promise.all([
      loadSigningKeys(store, undefined),
      loadSigningKeys(store, undefined),
    ])
    expect(a.current().kid).toBe(b.current().kid)
    const token = await sign(a)
    const header = decodeProtectedHeader(token)
    expect(header).toMatchObject({ alg: 'ES256', typ: 'at+jwt', kid: a.current().kid })
    const key = await b.publicKey(a.current().kid)
    expect(key).toBeDefined()
    await expect(compactVerify(token, key as CryptoKey)).resolves.toBeTruthy()
  })

  it('keeps the previous key published after a rotation', async () => {
    const keys = await loadSigningKeys(store, undefined)
    const before = keys.current().kid
    const oldToken = await sign(keys)
    const { kid: rotated } = await rotateSigningKeys(store, { clock, keepSeconds: HOUR })
    await keys.reload()
    expect(keys.current().kid).toBe(rotated)
    expect(keys.jwks().keys.map((k) => k.kid)).toEqual([rotated, before])
    await expect(
      compactVerify(oldToken, (await keys.publicKey(before)) as CryptoKey)
    ).resolves.toBeTruthy()
  })

  it('keeps every retired key published while its tokens may live, however often it rotates', async () => {
    const keys = await loadSigningKeys(store, undefined)
    const first = keys.current().kid
    const rotations: string[] = []
    for (let i = 0; i < 3; i++) {
      clock.advance(60_000)
      rotations.push((await rotateSigningKeys(store, { clock, keepSeconds: HOUR })).kid)
    }
    await keys.reload()
    expect(keys.jwks().keys.map((k) => k.kid)).toEqual([...rotations].reverse().concat(first))
    // An hour after its retirement a key has no live token left: the next rotation drops it.
    clock.advance(HOUR * 1000 - 2 * 60_000)
    const later = await rotateSigningKeys(store, { clock, keepSeconds: HOUR })
    expect(later.dropped).toEqual([first])
    expect(later.published).toEqual([later.kid, ...[...rotations].reverse()])
  })

  it('follows a rotation made elsewhere within the reload interval, idle or not, without a restart', async () => {
    const replica = await loadSigningKeys(store, undefined, { reloadSeconds: 0.2 })
    const before = replica.current().kid
    const { kid } = await rotateSigningKeys(store, { clock, keepSeconds: HOUR })
    // Nothing asks this replica for a key meanwhile: the ring is read again all the same.
    await expect.poll(() => replica.jwks().keys.map((k) => k.kid)).toEqual([kid, before])
    expect(replica.current().kid).toBe(kid)

    // Stopped (the process stops), it reads the ring no more.
    replica.stop()
    await rotateSigningKeys(store, { clock, keepSeconds: HOUR })
    await new Promise((resolve) => setTimeout(resolve, 600))
    expect(replica.current().kid).toBe(kid)
  })

  it('uses a pinned key (PEM or JWK, base64) instead of the store', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()
    const jwk = JSON.stringify(privateKey.export({ format: 'jwk' }))
    for (const encoded of [pem, jwk].map((text) => Buffer.from(text).toString('base64'))) {
      const keys = await loadSigningKeys(store, encoded)
      expect(keys.current().alg).toBe('ES256')
      expect(keys.jwks().keys).toHaveLength(1)
      expect(decodeProtectedHeader(await sign(keys)).alg).toBe('ES256')
    }
    expect(await store.get('signing-keys')).toBeNull()
  })

  it('keeps an RS256 ring of an earlier version signing; after a rotation its tokens still verify', async () => {
    // A ring stored before new keys were ES256: its key stays the current one until rotated.
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
    const jwk = { ...rsa.export({ format: 'jwk' }), alg: 'RS256', kid: 'rsa-before', use: 'sig' }
    await store.put('signing-keys', JSON.stringify({ current: jwk, previous: [] }))
    const keys = await loadSigningKeys(store, undefined)
    expect(keys.current()).toMatchObject({ alg: 'RS256', kid: 'rsa-before' })
    const oldToken = await sign(keys)
    await rotateSigningKeys(store, { clock, keepSeconds: HOUR })
    await keys.reload()
    expect(keys.current().alg).toBe('ES256')
    expect(keys.jwks().keys.map((key) => key.alg)).toEqual(['ES256', 'RS256'])
    await expect(
      compactVerify(oldToken, (await keys.publicKey('rsa-before')) as CryptoKey)
    ).resolves.toBeTruthy()
    // A pinned RSA key (JWT_PRIVATE_KEY_B64 from before) still signs RS256.
    const pem = rsa.export({ format: 'pem', type: 'pkcs8' }).toString()
    const pinned = await loadSigningKeys(store, Buffer.from(pem).toString('base64'))
    expect(decodeProtectedHeader(await sign(pinned)).alg).toBe('RS256')
  })

  it('refuses a pinned value that is not a private key', async () => {
    await expect(
      loadSigningKeys(store, Buffer.from('not a key').toString('base64'))
    ).rejects.toThrow(/not a base64-encoded private key/)
  })
})
