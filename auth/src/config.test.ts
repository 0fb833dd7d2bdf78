import { generateKeyPairSync, type KeyObject } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from './config.ts'

describe('loadConfig', () => {
  it('has working standalone defaults', () => {
    const config = loadConfig({})
    expect(config).toMatchObject({
      mode: 'standalone',
      host: '127.0.0.1',
      port: 8080,
      issuer: 'http://localhost:8080',
      allowedUsers: [],
      redis: undefined,
      ttl: {
        accessToken: 3600,
        refreshToken: 2_592_000,
        authorizationCode: 60,
        deviceCode: 600,
        client: 7_776_000,
      },
    })
    expect(config.protectedResources.map((r) => r.resource)).toEqual([
      'http://localhost:8080/echo/mcp',
    ])
    expect(Object.isFrozen(config)).toBe(true)
  })

  it('derives compose addresses from BASE_DOMAIN', () => {
    const config = loadConfig({
      GATEWAY_MODE: 'auth',
      BASE_DOMAIN: 'example.com',
      MCP_MEMORY_ENABLED: 'true',
    })
    expect(config.port).toBe(8000)
    expect(config.issuer).toBe('https://auth.example.com')
    expect(config.protectedResources.map((r) => r.resource)).toEqual([
      'https://echo.example.com/mcp',
      'https://memory.example.com/mcp',
    ])
  })

  it('reads allow-lists and per-service policies, by GitHub id or login', () => {
    const config = loadConfig({
      ALLOWED_GITHUB_USERS: 'id:583231, Alice, login:1234',
      ALLOWED_GITHUB_ORGS: 'acme',
      MCP_ECHO_ALLOWED_USERS: 'id:1001,bob',
    })
    expect(config.allowedUsers).toEqual([{ id: '583231' }, { login: 'alice' }, { login: '1234' }])
    expect(config.allowedOrgs).toEqual(['acme'])
    expect(config.protectedResources[0]).toMatchObject({
      allowedUsers: [{ id: '1001' }, { login: 'bob' }],
      allowedOrgs: [],
    })
    expect(loadConfig({ ALLOWED_GITHUB_USERS: '*' }).allowedUsers).toBe('*')
    expect(loadConfig({}).protectedResources[0]?.allowedUsers).toBe('*')
    expect(loadConfig({ MCP_ECHO_ALLOWED_ORGS: 'acme' }).protectedResources[0]).toMatchObject({
      allowedUsers: [],
      allowedOrgs: ['acme'],
    })
  })

  describe('JWT_PRIVATE_KEY_B64', () => {
    const pem = ({ privateKey }: { privateKey: KeyObject }) =>
      Buffer.from(privateKey.export({ format: 'pem', type: 'pkcs8' })).toString('base64')

    it('takes an EC P-256 key or an RSA key of 2048 bits', () => {
      for (const key of [
        pem(generateKeyPairSync('ec', { namedCurve: 'P-256' })),
        pem(generateKeyPairSync('rsa', { modulusLength: 2048 })),
      ]) {
        expect(loadConfig({ JWT_PRIVATE_KEY_B64: key }).pinnedSigningKey).toBe(key)
      }
    })

    it.each([
      ['garbage', () => 'garbage', 'not a base64-encoded private key (PEM or JWK)'],
      [
        'a 1024-bit RSA key',
        () => pem(generateKeyPairSync('rsa', { modulusLength: 1024 })),
        'an RSA key of 1024 bits; RS256 needs 2048 or more',
      ],
      [
        'a P-384 key',
        () => pem(generateKeyPairSync('ec', { namedCurve: 'P-384' })),
        'only RSA and EC P-256 keys are supported',
      ],
      [
        'an Ed25519 key',
        () => pem(generateKeyPairSync('ed25519')),
        'only RSA and EC P-256 keys are supported',
      ],
    ])('refuses %s at start, naming the variable', (_case, key, message) => {
      expect(() => loadConfig({ JWT_PRIVATE_KEY_B64: key() })).toThrow(
        new ConfigError(`JWT_PRIVATE_KEY_B64: ${message}`)
      )
    })
  })

  it.each([
    [{ ALLOWED_GITHUB_USERS: 'alice,1234' }, /^ALLOWED_GITHUB_USERS: 1234 is ambiguous/],
    [{ ALLOWED_GITHUB_USERS: 'id:alice' }, /^ALLOWED_GITHUB_USERS: id:alice: /],
    [{ MCP_ECHO_ALLOWED_USERS: 'uid:5' }, /^MCP_ECHO_ALLOWED_USERS: uid:5: /],
  ])('refuses the user list %o, naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError)
    expect(() => loadConfig(env)).toThrow(message)
  })

  it('offers the development sign-in only on a loopback issuer or when asked, never in public', () => {
    const github = { GITHUB_CLIENT_ID: 'id', GITHUB_CLIENT_SECRET: 'secret' }
    expect(loadConfig({}).developmentSignIn).toBe(true)
    expect(loadConfig({ AUTH_ISSUER: 'http://127.0.0.1:9000' }).developmentSignIn).toBe(true)
    expect(loadConfig({ DEVELOPMENT_SIGN_IN: 'false' }).developmentSignIn).toBe(false)
    expect(loadConfig({ ...github }).developmentSignIn).toBe(false)
    // A public https issuer, whatever NODE_ENV says (unset here).
    expect(loadConfig({ AUTH_ISSUER: 'https://auth.example.com' }).developmentSignIn).toBe(false)
    expect(loadConfig({ BASE_DOMAIN: 'example.com' }).developmentSignIn).toBe(false)
    expect(loadConfig({ NODE_ENV: 'test', BASE_DOMAIN: 'example.com' }).developmentSignIn).toBe(
      false
    )
    // A loopback issuer on a listener others reach (a published container port, a tunnel): only
    // when asked for by name.
    expect(loadConfig({ HOST: '0.0.0.0' }).developmentSignIn).toBe(false)
    expect(loadConfig({ HOST: '::' }).developmentSignIn).toBe(false)
    expect(loadConfig({ HOST: '::1' }).developmentSignIn).toBe(true)
    expect(loadConfig({ HOST: '0.0.0.0', DEVELOPMENT_SIGN_IN: 'true' }).developmentSignIn).toBe(
      true
    )
    // A LAN address over http: only when asked for by name.
    expect(loadConfig({ AUTH_ISSUER: 'http://192.168.1.20:8080' }).developmentSignIn).toBe(false)
    expect(
      loadConfig({ AUTH_ISSUER: 'http://192.168.1.20:8080', DEVELOPMENT_SIGN_IN: 'true' })
        .developmentSignIn
    ).toBe(true)
  })

  it.each([
    [
      { AUTH_ISSUER: 'https://auth.example.com', DEVELOPMENT_SIGN_IN: 'true' },
      /^DEVELOPMENT_SIGN_IN: refused for the public https issuer/,
    ],
    [{ BASE_DOMAIN: 'example.com', DEVELOPMENT_SIGN_IN: 'yes' }, /^DEVELOPMENT_SIGN_IN: /],
    [
      {
        NODE_ENV: 'production',
        REDIS_URL: 'redis://r:6379',
        DEVELOPMENT_SIGN_IN: 'true',
        AUTH_ISSUER: 'http://localhost:8080',
      },
      /^DEVELOPMENT_SIGN_IN: refused when NODE_ENV=production/,
    ],
    [{ DEVELOPMENT_SIGN_IN: 'maybe' }, /^DEVELOPMENT_SIGN_IN: /],
  ])('refuses the development sign-in asked for where it may not run: %o', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError)
    expect(() => loadConfig(env)).toThrow(message)
  })

  it('takes TRUST_PROXY as a flag or as the proxy addresses, and names a bad entry', () => {
    expect(loadConfig({}).trustProxy).toBe(false)
    expect(loadConfig({ TRUST_PROXY: 'yes' }).trustProxy).toBe(true)
    expect(loadConfig({ TRUST_PROXY: 'False' }).trustProxy).toBe(false)
    expect(loadConfig({ TRUST_PROXY: '172.30.0.0/24,fd00::1' }).trustProxy).toMatchObject({
      ranges: ['172.30.0.0/24', 'fd00::1'],
    })
    expect(() => loadConfig({ TRUST_PROXY: 'Traefik' })).toThrow(
      /^TRUST_PROXY: true, false, or the proxy's addresses and networks: Traefik is not an IP address/
    )
  })

  it('accepts metadata documents and registrations by default; loopback documents only in tests', () => {
    expect(loadConfig({})).toMatchObject({
      clientIdMetadataDocuments: { enabled: true, allowLoopback: false },
      dynamicClientRegistration: true,
    })
    expect(
      loadConfig({
        CLIENT_ID_METADATA_DOCUMENTS: 'false',
        DYNAMIC_CLIENT_REGISTRATION: 'false',
        CIMD_ALLOW_LOOPBACK: 'true',
      })
    ).toMatchObject({
      clientIdMetadataDocuments: { enabled: false, allowLoopback: true },
      dynamicClientRegistration: false,
    })
    const production = {
      NODE_ENV: 'production',
      AUTH_ISSUER: 'https://auth.example.com',
      REDIS_URL: 'redis://r:6379',
      GITHUB_CLIENT_ID: 'id',
      GITHUB_CLIENT_SECRET: 'secret',
    }
    expect(loadConfig(production).clientIdMetadataDocuments.allowLoopback).toBe(false)
    expect(() => loadConfig({ ...production, CIMD_ALLOW_LOOPBACK: 'true' })).toThrow(
      /^CIMD_ALLOW_LOOPBACK: refused when NODE_ENV=production/
    )
    expect(() => loadConfig({ CIMD_ALLOW_LOOPBACK: 'maybe' })).toThrow(/^CIMD_ALLOW_LOOPBACK: /)
  })

  it('gives a replaced refresh token a 30 s reuse grace unless told otherwise (0: none)', () => {
    expect(loadConfig({}).refreshTokenReuseGrace).toBe(30)
    expect(loadConfig({ REFRESH_TOKEN_REUSE_GRACE: '0' }).refreshTokenReuseGrace).toBe(0)
    expect(loadConfig({ REFRESH_TOKEN_REUSE_GRACE: '300' }).refreshTokenReuseGrace).toBe(300)
  })

  it.each([
    [{ PORT: 'eighty' }, /^PORT: /],
    [{ PORT: '70000' }, /^PORT: /],
    [{ AUTH_ISSUER: 'https://auth.example.com/' }, /^AUTH_ISSUER: .*trailing slash/],
    [{ AUTH_ISSUER: 'not a url' }, /^AUTH_ISSUER: /],
    [
      {
        AUTH_ISSUER: 'http://auth.example.com',
        NODE_ENV: 'production',
        REDIS_URL: 'redis://r:6379',
      },
      /^AUTH_ISSUER: .*https/,
    ],
    [{ NODE_ENV: 'production' }, /^REDIS_URL: required/],
    [{ REDIS_URL: 'http://redis' }, /^REDIS_URL: /],
    [{ REDIS_URL: 'redis://127.0.0.1:99999/0' }, /^REDIS_URL: not a URL the client can read/],
    [{ REDIS_URL: 'redis://' }, /^REDIS_URL: names no host/],
    [{ REDIS_URL: 'redis:///0' }, /^REDIS_URL: names no host/],
    [{ REDIS_URL: 'redis://r:6379/abc' }, /^REDIS_URL: the path must be a database number/],
    [{ ACCESS_TOKEN_TTL: '-5' }, /^ACCESS_TOKEN_TTL: /],
    // Lifetimes that only a wrong unit explains.
    [{ REFRESH_TOKEN_TTL: '60' }, /^REFRESH_TOKEN_TTL: 60 s is shorter than ACCESS_TOKEN_TTL/],
    [{ ACCESS_TOKEN_TTL: '7200', REFRESH_TOKEN_TTL: '3600' }, /^REFRESH_TOKEN_TTL: /],
    [{ AUTH_CODE_TTL: '100000' }, /^AUTH_CODE_TTL: at most 600 s/],
    // Whole seconds in decimal digits: nothing else is read as a number.
    [{ ACCESS_TOKEN_TTL: '0x10' }, /^ACCESS_TOKEN_TTL: must be a whole number \(decimal digits\)$/],
    [{ ACCESS_TOKEN_TTL: '1e3' }, /^ACCESS_TOKEN_TTL: must be a whole number/],
    [{ PORT: ' 8080' }, /^PORT: must be a whole number/],
    [{ TOKEN_RATE_LIMIT: '1.5' }, /^TOKEN_RATE_LIMIT: must be a whole number/],
    [{ ACCESS_TOKEN_TTL: '0' }, /^ACCESS_TOKEN_TTL: /],
    [{ REFRESH_TOKEN_REUSE_GRACE: '301' }, /^REFRESH_TOKEN_REUSE_GRACE: /],
    [{ REFRESH_TOKEN_REUSE_GRACE: '-1' }, /^REFRESH_TOKEN_REUSE_GRACE: /],
    [{ GITHUB_CLIENT_ID: 'only-the-id' }, /^GITHUB_CLIENT_SECRET: /],
    [{ MCP_ECHO_ENABLED: 'maybe' }, /^MCP_ECHO_ENABLED: /],
    // A misspelt service would otherwise just stay off, or stay open to everyone.
    [
      { MCP_MEMMORY_ENABLED: 'true' },
      /^MCP_MEMMORY_ENABLED: the catalog has no service of that name \(it has echo, /,
    ],
    [{ MCP_ECHO2_ALLOWED_USERS: 'alice' }, /^MCP_ECHO2_ALLOWED_USERS: the catalog has no service/],
    // A misspelt allow-list would leave its service open to everyone the gateway lets in.
    [
      { MCP_ECHO_ALLOWED_USER: 'alice' },
      /^MCP_ECHO_ALLOWED_USER: not a setting of the echo service \(it takes MCP_ECHO_ENABLED, MCP_ECHO_ALLOWED_USERS, MCP_ECHO_ALLOWED_ORGS\)$/,
    ],
    [{ MCP_MEMORY_ALLOWED_ORG: 'acme' }, /^MCP_MEMORY_ALLOWED_ORG: not a setting of the memory/],
    [{ MCP_ECHO_ENABLD: 'false' }, /^MCP_ECHO_ENABLD: not a setting of the echo service/],
    [{ LOG_LEVEL: 'loud' }, /^LOG_LEVEL: /],
    [{ GATEWAY_MODE: 'both' }, /^GATEWAY_MODE: /],
    [{ INTERNAL_API_SECRET: 'too-short' }, /^INTERNAL_API_SECRET: at least 32/],
    [
      { INTERNAL_API_SECRET: `${'s'.repeat(20)} ${'t'.repeat(20)}` },
      /^INTERNAL_API_SECRET: no spaces/,
    ],
    [{ INTERNAL_API_SECRET: 's'.repeat(32), INTERNAL_PORT: '0' }, /^INTERNAL_PORT: /],
    [
      { INTERNAL_API_SECRET: 's'.repeat(32), PORT: '9000', INTERNAL_PORT: '9000' },
      /^INTERNAL_PORT: /,
    ],
  ])('refuses %o with a message naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError)
    expect(() => loadConfig(env)).toThrow(message)
  })
})

describe('empty variables', () => {
  it('count as unset, as an env file copied from the example has them', () => {
    const config = loadConfig({
      GITHUB_CLIENT_ID: '',
      GITHUB_CLIENT_SECRET: '',
      JWT_PRIVATE_KEY_B64: '',
      INTERNAL_API_SECRET: '',
      PORT: '',
      ALLOWED_GITHUB_USERS: '',
      MCP_ECHO_ENABLED: '',
    })
    expect(config.port).toBe(8080)
    expect(config.issuer).toBe('http://localhost:8080')
    expect(config.internalApi).toBeUndefined()
    expect(config.protectedResources.map((r) => r.resource)).toContain(
      'http://localhost:8080/echo/mcp'
    )
  })
})
