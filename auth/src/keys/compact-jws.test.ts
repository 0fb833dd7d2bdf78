import { generateKeyPairSync, sign, verify } from 'node:crypto'
import { compactVerify, decodeProtectedHeader, jwtVerify } from 'jose'
import { describe, expect, it } from 'vitest'
import { rawEcdsaSignature, signCompactJws } from './compact-jws.ts'

describe('signCompactJws', () => {
  it('signs ES256 tokens that jose verifies, whatever the length of r and s', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    // One r or s in 128 starts with a zero byte (DER then shortens it) or a set high bit (DER
    // then pads it): 2,000 signatures meet both many times.
    for (let i = 0; i < 2_000; i++) {
      const token = signCompactJws({ alg: 'ES256', kid: 'k', typ: 'at+jwt' }, { i }, privateKey)
      const { payload } = await compactVerify(token, publicKey)
      expect(JSON.parse(Buffer.from(payload).toString())).toEqual({ i })
    }
  })

  it('signs RS256 tokens with their header and claims as given', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
    const token = signCompactJws(
      { alg: 'RS256', kid: 'old', typ: 'at+jwt' },
      { sub: '1', exp: 4_000_000_000 },
      privateKey
    )
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'RS256', kid: 'old', typ: 'at+jwt' })
    const { payload } = await jwtVerify(token, publicKey, { typ: 'at+jwt' })
    expect(payload).toEqual({ sub: '1', exp: 4_000_000_000 })
  })
})

describe('rawEcdsaSignature', () => {
  it('turns DER into the r || s that verifies as IEEE P1363', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const data = Buffer.from('signed')
    for (let i = 0; i < 500; i++) {
      const raw = rawEcdsaSignature(sign('sha256', data, privateKey), 32)
      expect(raw).toHaveLength(64)
      expect(verify('sha256', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, raw)).toBe(true)
    }
  })

  it('pads a short integer and drops DER’s sign byte', () => {
    // r = 0x01 (one byte), s = 0x00 0x80 … (a zero byte before a set high bit, 33 bytes).
    const s = Buffer.concat([Buffer.from([0x00, 0x80]), Buffer.alloc(31, 0x11)])
    const der = Buffer.concat([
      Buffer.from([0x30, 3 + 2 + s.length, 0x02, 1, 0x01, 0x02, s.length]),
      s,
    ])
    const raw = rawEcdsaSignature(der, 32)
    expect(raw.subarray(0, 32)).toEqual(Buffer.concat([Buffer.alloc(31), Buffer.from([1])]))
    expect(raw.subarray(32)).toEqual(s.subarray(1))
  })
})
