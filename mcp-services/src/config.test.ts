import { describe, expect, it } from 'vitest'
import { parseBridgeConfig } from './config.ts'

describe('parseBridgeConfig', () => {
  it('has safe defaults on loopback', () => {
    const config = parseBridgeConfig({})
    expect(config.port).toBe(3000)
    expect(config.host).toBe('127.0.0.1')
    expect(config.allowedHosts).toContain('localhost')
    expect(config.allowedOrigins).toEqual([])
    expect(config.allowAnonymous).toBe(false)
    expect(Object.isFrozen(config)).toBe(true)
  })

  it('accepts any Host in a container unless told otherwise', () => {
    expect(parseBridgeConfig({ HOST: '0.0.0.0' }).allowedHosts).toBe('*')
    expect(
      parseBridgeConfig({ HOST: '0.0.0.0', ALLOWED_HOSTS: 'a.example, b.example' }).allowedHosts
    ).toEqual(['a.example', 'b.example'])
  })

  it('takes origins as browsers send them, and refuses one that could never match', () => {
    const CHROME_ID = 'abcdefghijklmnopabcdefghijklmnop'
    const FIREFOX_ID = '0b6ad7c5-5c8e-4a8e-9f3e-1d2c3b4a5f60'
    expect(
      parseBridgeConfig({ ALLOWED_ORIGINS: 'http://localhost:6274, https://app.example' })
        .allowedOrigins
    ).toEqual(['http://localhost:6274', 'https://app.example'])
    expect(parseBridgeConfig({ ALLOWED_ORIGINS: '*' }).allowedOrigins).toBe('*')
    // Browser extensions' origins have no URL-standard origin, but are sent and matched as written.
    expect(
      parseBridgeConfig({
        ALLOWED_ORIGINS: `chrome-extension://${CHROME_ID},moz-extension://${FIREFOX_ID},app://local`,
      }).allowedOrigins
    ).toEqual([`chrome-extension://${CHROME_ID}`, `moz-extension://${FIREFOX_ID}`, 'app://local'])
    for (const [bad, said] of [
      ['chrome-extension://abc/page.html', 'not an origin'],
      ['https://*.example.com', 'wildcards are not taken'],
      ['*', 'wildcards are not taken'],
      ['javascript://x', 'javascript://x sends no origin'],
      ['data://x', 'sends no origin'],
      ['null', 'null is not an origin'],
      ['not-an-origin', 'not-an-origin is not an origin'],
      ['https://App.example', 'write https://app.example'],
      ['http://localhost:6274/', 'write http://localhost:6274'],
      ['https://app.example:443', 'write https://app.example'],
      ['file:///tmp/page.html', 'sends no origin'],
      ['view-source://x', 'sends no origin'],
      ['content://x', 'sends no origin'],
      [`chrome-extension://${CHROME_ID.toUpperCase()}`, 'id is 32 letters a-p'],
      ['chrome-extension://abc', 'id is 32 letters a-p'],
      [`moz-extension://${FIREFOX_ID.toUpperCase()}`, 'id is a lower-case UUID'],
    ] as const) {
      expect(() => parseBridgeConfig({ ALLOWED_ORIGINS: `https://ok.example,${bad}` })).toThrow(
        new RegExp(`ALLOWED_ORIGINS: .*${said.replaceAll('.', '\\.')}`)
      )
    }
  })

  it('turns the idle timeout into milliseconds and refuses bad values', () => {
    expect(parseBridgeConfig({ SESSION_IDLE_TIMEOUT: '60' }).idleTimeoutMs).toBe(60_000)
    expect(() => parseBridgeConfig({ PORT: 'http' })).toThrow(/PORT/)
    expect(() => parseBridgeConfig({ MAX_SESSIONS: '0' })).toThrow(
      /^MAX_SESSIONS: must be at least 1$/
    )
    expect(parseBridgeConfig({})).toMatchObject({
      maxRequestBytesPerUser: 16 * 1024 * 1024,
      maxRequestBytes: 64 * 1024 * 1024,
    })
    expect(() => parseBridgeConfig({ MAX_REQUEST_BYTES_PER_USER: '1000' })).toThrow(
      /^MAX_REQUEST_BYTES_PER_USER: must be at least MAX_REQUEST_BODY_BYTES \(4194304\)$/
    )
    expect(() => parseBridgeConfig({ MAX_REQUEST_BYTES: '5000000' })).toThrow(
      /^MAX_REQUEST_BYTES: must be at least MAX_REQUEST_BYTES_PER_USER/
    )
    expect(() => parseBridgeConfig({ SESSION_IDLE_TIMEOUT: '0' })).toThrow(
      /^SESSION_IDLE_TIMEOUT: must be more than 0$/
    )
    expect(() => parseBridgeConfig({ MAX_SESSIONS: '1e3' })).toThrow(
      /MAX_SESSIONS: must be a whole number/
    )
  })

  it("keeps a user's share of the sessions below the total unless told otherwise", () => {
    const perUser = (environment: Record<string, string>) =>
      parseBridgeConfig(environment).maxSessionsPerUser
    expect(perUser({})).toBe(10)
    expect(perUser({ MAX_SESSIONS: '6' })).toBe(3)
    expect(perUser({ MAX_SESSIONS: '1' })).toBe(1)
    expect(perUser({ MAX_SESSIONS: '6', MAX_SESSIONS_PER_USER: '6' })).toBe(6)
  })

  it('reads the shutdown delay and timeout in seconds and refuses bad values', () => {
    expect(parseBridgeConfig({}).shutdown).toEqual({ delayMs: 5000, timeoutMs: 20_000 })
    expect(parseBridgeConfig({ SHUTDOWN_DELAY: '0.5' }).shutdown.delayMs).toBe(500)
    expect(() => parseBridgeConfig({ SHUTDOWN_DELAY: '-1' })).toThrow(/SHUTDOWN_DELAY/)
    expect(() => parseBridgeConfig({ SHUTDOWN_TIMEOUT: 'x' })).toThrow(/SHUTDOWN_TIMEOUT/)
    // Seconds are written as people write them: `0x10` or `1e3` is no number of seconds.
    for (const name of [
      'SHUTDOWN_DELAY',
      'SHUTDOWN_TIMEOUT',
      'SESSION_IDLE_TIMEOUT',
      'CHILD_CRASH_WINDOW',
    ]) {
      for (const value of ['0x10', '1e3', ' 5', '5.']) {
        expect(() => parseBridgeConfig({ [name]: value })).toThrow(new RegExp(name))
      }
      expect(() => parseBridgeConfig({ [name]: '2.5' })).not.toThrow()
    }
  })
})

describe('empty variables', () => {
  it('count as unset', () => {
    const config = parseBridgeConfig({ PORT: '', METRICS_TOKEN: '', BRIDGE_REPLICA_ID: '' })
    expect(config.port).toBe(parseBridgeConfig({}).port)
    expect(config.metrics).toBeUndefined()
  })
})

describe('METRICS_TOKEN', () => {
  it('refuses a token with spaces, which no bearer header can carry', () => {
    expect(() =>
      parseBridgeConfig({ METRICS_PORT: '9464', METRICS_TOKEN: ' '.repeat(34) })
    ).toThrow(/METRICS_TOKEN: no spaces/)
  })
})

describe('replicas (BRIDGE_PEERS, BRIDGE_REPLICA_ID)', () => {
  const peers = 'a=http://bridge-a:3000, b=https://bridge-b.internal'

  it('is off without a peer list, and lists every peer by its base URL', () => {
    expect(parseBridgeConfig({}).replicas).toBeUndefined()
    expect(parseBridgeConfig({ BRIDGE_PEERS: peers, BRIDGE_REPLICA_ID: 'b' }).replicas).toEqual({
      self: 'b',
      peers: [
        { id: 'a', url: 'http://bridge-a:3000' },
        { id: 'b', url: 'https://bridge-b.internal' },
      ],
    })
  })

  it('refuses a bad peer list or a replica id that is not in it, naming the variable', () => {
    for (const bad of [
      'a',
      'a=bridge-a:3000',
      'a=http://x/mcp',
      'a=http://x,a=http://y',
      '=http://x',
    ]) {
      expect(() => parseBridgeConfig({ BRIDGE_PEERS: bad, BRIDGE_REPLICA_ID: 'a' })).toThrow(
        /BRIDGE_PEERS/
      )
    }
    expect(() => parseBridgeConfig({ BRIDGE_PEERS: peers, BRIDGE_REPLICA_ID: 'c' })).toThrow(
      /BRIDGE_REPLICA_ID: "c" is not among the ids of BRIDGE_PEERS/
    )
    expect(() => parseBridgeConfig({ BRIDGE_REPLICA_ID: 'a b' })).toThrow(/BRIDGE_REPLICA_ID/)
  })
})

describe('the user directory and GitHub settings', () => {
  const secret = 'x'.repeat(32)

  it('reads the internal API when AUTH_INTERNAL_URL is set, and then needs its secret', () => {
    expect(
      parseBridgeConfig({ AUTH_INTERNAL_URL: 'http://auth:8001', INTERNAL_API_SECRET: secret })
        .internalApi
    ).toEqual({ url: 'http://auth:8001', secret })
    expect(() => parseBridgeConfig({ AUTH_INTERNAL_URL: 'http://auth:8001' })).toThrow(
      /INTERNAL_API_SECRET: required with AUTH_INTERNAL_URL/
    )
    expect(() =>
      parseBridgeConfig({ AUTH_INTERNAL_URL: 'http://auth:8001', INTERNAL_API_SECRET: 'short' })
    ).toThrow(/INTERNAL_API_SECRET/)
    expect(() =>
      parseBridgeConfig({ AUTH_INTERNAL_URL: 'auth:8001', INTERNAL_API_SECRET: secret })
    ).toThrow(/AUTH_INTERNAL_URL/)
  })

  it('has no directory without AUTH_INTERNAL_URL, even where the auth server’s secret is set', () => {
    expect(parseBridgeConfig({}).internalApi).toBeUndefined()
    expect(parseBridgeConfig({ INTERNAL_API_SECRET: secret }).internalApi).toBeUndefined()
  })

  it('calls GitHub at GITHUB_API_URL, without a trailing slash', () => {
    expect(parseBridgeConfig({}).githubApiUrl).toBe('https://api.github.com')
    expect(parseBridgeConfig({ GITHUB_API_URL: 'https://ghe.example/api/v3/' }).githubApiUrl).toBe(
      'https://ghe.example/api/v3'
    )
    expect(() => parseBridgeConfig({ GITHUB_API_URL: 'not a url' })).toThrow(/GITHUB_API_URL/)
  })
})

describe('INTERNAL_API_SECRET', () => {
  it('refuses a secret with a space, which no bearer header carries', () => {
    expect(() =>
      parseBridgeConfig({
        AUTH_INTERNAL_URL: 'http://auth:8001',
        INTERNAL_API_SECRET: `${'s'.repeat(20)} ${'t'.repeat(20)}`,
      })
    ).toThrow(/INTERNAL_API_SECRET: no spaces/)
  })
})
