import { createPublicKey } from 'node:crypto'
import { generateKeyPair, SignJWT, UnsecuredJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mintAccessToken } from '../../../tests/support/access-tokens.ts'
import { createTestAuthServer, type TestAuthServer } from '../../../tests/support/auth-app.ts'
import { createApp } from '../app.ts'
import type { SigningKeys } from '../keys/signing-keys.ts'
import { createLogger } from '../logger.ts'
import { createRedisStore } from '../store/redis-store.ts'
import { createAccessTokenVerifier } from './token-verifier.ts'

const ECHO = 'http://localhost:8080/echo/mcp'

describe('/verify with hostile or broken credentials', () => {
  let server: TestAuthServer
  let claims: Record<string, unknown>

  const verify = (authorization: string) =>
    server.request('/verify', {
      headers: {
        'X-Forwarded-Proto': 'http',
        'X-Forwarded-Host': 'localhost:8080',
        'X-Forwarded-Uri': '/echo/mcp',
        Authorization: authorization,
      },
    })
  const sign = (header: Record<string, unknown>, body: Record<string, unknown> = claims) => {
    const key = server.signingKeys.current()
    return new SignJWT(body)
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt', ...header })
      .sign(key.privateKey)
  }

  beforeAll(async () => {
    // Tokens are minted below for any user: the gateway's own list admits them all.
    server = await createTestAuthServer({ ALLOWED_GITHUB_USERS: '*' })
    claims = { ...(await mintAccessToken(server)).claims }
  })
  afterAll(() => server.close())

  it('accepts the well-formed token the cases below are variations of', async () => {
    expect((await verify(`Bearer ${await sign({})}`)).status).toBe(200)
  })

  const refusals: [string, () => Promise<string>][] = [
    ['no scheme', async () => (await mintAccessToken(server)).token],
    ['Basic credentials', async () => `Basic ${Buffer.from('user:pass').toString('base64')}`],
    ['an empty Bearer', async () => 'Bearer '],
    ['two tokens', async () => `Bearer ${await sign({})} ${await sign({})}`],
    ['two Bearer values', async () => `Bearer ${await sign({})}, Bearer ${await sign({})}`],
    ['a 10 KB token', async () => `Bearer ${'a'.repeat(10_240)}`],
    [
      'a 10 KB signed token',
      async () => `Bearer ${await sign({}, { ...claims, pad: 'x'.repeat(10_240) })}`,
    ],
    ['garbage', async () => 'Bearer not.a.jwt'],
    ['control characters', async () => 'Bearer abc\tdef'],
    [
      'alg: none',
      async () => `Bearer ${new UnsecuredJWT(claims).setIssuer(String(claims.iss)).encode()}`,
    ],
    [
      'HS256 signed with the public key',
      async () => {
        const key = server.signingKeys.current()
        const pem = createPublicKey(
          key.privateKey as unknown as Parameters<typeof createPublicKey>[0]
        ).export({ format: 'pem', type: 'spki' })
        return `Bearer ${await new SignJWT(claims)
          .setProtectedHeader({ alg: 'HS256', kid: key.kid, typ: 'at+jwt' })
          .sign(new TextEncoder().encode(String(pem)))}`
      },
    ],
    ['expired', async () => `Bearer ${await sign({}, { ...claims, exp: Number(claims.iat) - 1 })}`],
    [
      'a future nbf',
      async () => `Bearer ${await sign({}, { ...claims, nbf: Number(claims.iat) + 600 })}`,
    ],
    [
      'an unknown kid',
      async () => {
        const { privateKey } = await generateKeyPair('RS256')
        return `Bearer ${await new SignJWT(claims)
          .setProtectedHeader({ alg: 'RS256', kid: 'unknown-kid', typ: 'at+jwt' })
          .sign(privateKey)}`
      },
    ],
    ['no kid', async () => `Bearer ${await sign({ kid: undefined })}`],
    ['typ JWT', async () => `Bearer ${await sign({ typ: 'JWT' })}`],
    ['no typ', async () => `Bearer ${await sign({ typ: undefined })}`],
    [
      'a wrong iss',
      async () => `Bearer ${await sign({}, { ...claims, iss: 'https://evil.example' })}`,
    ],
    ['no exp', async () => `Bearer ${await sign({}, { ...claims, exp: undefined })}`],
    ['a numeric sub', async () => `Bearer ${await sign({}, { ...claims, sub: 1001 })}`],
    ['no aud', async () => `Bearer ${await sign({}, { ...claims, aud: undefined })}`],
    [
      'a tampered payload',
      async () => {
        const [header, , signature] = (await sign({})).split('.')
        const payload = Buffer.from(JSON.stringify({ ...claims, scope: 'mcp admin' })).toString(
          'base64url'
        )
        return `Bearer ${header}.${payload}.${signature}`
      },
    ],
  ]

  for (const [name, authorization] of refusals) {
    it(`answers 401, never 500, for ${name}`, async () => {
      const response = await verify(await authorization())
      expect(response.status).toBe(401)
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer /)
      expect(response.headers.get('x-user-id')).toBeNull()
    })
  }

  it('reloads the key ring for an unknown kid at most once per interval', async () => {
    let reloads = 0
    const counted: SigningKeys = {
      current: () => server.signingKeys.current(),
      publicKey: (kid) => server.signingKeys.publicKey(kid),
      jwks: () => server.signingKeys.jwks(),
      reload: async () => {
        reloads++
        await server.signingKeys.reload()
      },
      stop: () => {},
    }
    const verifier = createAccessTokenVerifier({ ...server, signingKeys: counted })
    const { privateKey } = await generateKeyPair('ES256')
    const stranger = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', kid: 'rotated-elsewhere', typ: 'at+jwt' })
      .sign(privateKey)
    await Promise.allSettled([1, 2, 3].map(() => verifier.verify(stranger)))
    await expect(verifier.verify(stranger)).rejects.toThrow()
    expect(reloads).toBe(1)
    server.clock.advance(5_001)
    await expect(verifier.verify(stranger)).rejects.toThrow()
    expect(reloads).toBe(2)
  })

  it('fails closed with 401 when the store does not answer', async () => {
    // A Redis that is not there (port 1 is privileged: no test can be listening on it): every
    // command fails after its 300 ms timeout.
    const deadStore = createRedisStore('redis://127.0.0.1:1', 'dead:', 300)
    const lines: Record<string, unknown>[] = []
    const logger = createLogger('info', { write: (line: string) => lines.push(JSON.parse(line)) })
    const app = createApp({ ...server, store: deadStore, logger })
    const { token } = await mintAccessToken(server)
    const response = await app.request(`${ECHO.replace('/echo/mcp', '')}/verify`, {
      headers: { 'X-Original-URL': ECHO, Authorization: `Bearer ${token}` },
    })
    expect(response.status).toBe(401)
    expect(response.headers.get('www-authenticate')).toContain('error="invalid_token"')
    const denied = lines.find((line) => line.event === 'verify_denied')
    expect(denied).toMatchObject({ level: 50, reason: 'revocation_check_failed' })
    // An outage in one line: why, and no stack on every request.
    expect(denied?.cause).toEqual(expect.any(String))
    expect(JSON.stringify(denied)).not.toContain('stack')
    await deadStore.close().catch(() => {})
  })
})
