import { describe, expect, it } from 'vitest'
import { loadConfig } from './config.ts'

describe('the shutdown settings', () => {
  it('wait 5 s not ready, then give requests in flight 20 s, unless told otherwise', () => {
    expect(loadConfig({}).shutdown).toEqual({ delayMs: 5000, timeoutMs: 20_000 })
    expect(loadConfig({ SHUTDOWN_DELAY: '0', SHUTDOWN_TIMEOUT: '1.5' }).shutdown).toEqual({
      delayMs: 0,
      timeoutMs: 1500,
    })
  })

  it.each([
    ['SHUTDOWN_DELAY', '-1'],
    ['SHUTDOWN_DELAY', 'soon'],
    ['SHUTDOWN_TIMEOUT', '301'],
  ])('stops start-up on %s=%s, naming it', (variable, value) => {
    expect(() => loadConfig({ [variable]: value })).toThrow(new RegExp(`^${variable}: `))
  })

  it('says a bound in words, not as a comparison', () => {
    expect(() => loadConfig({ SHUTDOWN_TIMEOUT: '301' })).toThrow(
      /^SHUTDOWN_TIMEOUT: must be at most 300$/
    )
    expect(() => loadConfig({ PORT: '70000' })).toThrow(/^PORT: must be at most 65535$/)
    expect(() => loadConfig({ TOKEN_RATE_LIMIT: '0' })).toThrow(
      /^TOKEN_RATE_LIMIT: must be at least 1$/
    )
  })
})

describe('the internal API settings', () => {
  it('serves no internal API without INTERNAL_API_SECRET', () => {
    expect(loadConfig({}).internalApi).toBeUndefined()
  })

  it('serves it on INTERNAL_PORT (default 8001) with the secret', () => {
    const secret = 'x'.repeat(40)
    expect(loadConfig({ INTERNAL_API_SECRET: secret }).internalApi).toEqual({ port: 8001, secret })
    expect(
      loadConfig({ INTERNAL_API_SECRET: secret, INTERNAL_PORT: '9101' }).internalApi?.port
    ).toBe(9101)
    // Read as the bridges read it: a secret mounted from a file keeps no trailing newline.
    expect(loadConfig({ INTERNAL_API_SECRET: `${secret}\n` }).internalApi?.secret).toBe(secret)
  })

  it('never echoes a refused secret', () => {
    expect(() => loadConfig({ INTERNAL_API_SECRET: 'short-secret-value' })).toThrow(
      /^(?!.*short-secret-value)/
    )
  })
})

describe('SHUTDOWN_DELAY and SHUTDOWN_TIMEOUT', () => {
  it('take decimal seconds, a fraction allowed, and nothing JavaScript merely reads as a number', () => {
    expect(loadConfig({ SHUTDOWN_DELAY: '0.5', SHUTDOWN_TIMEOUT: '30' }).shutdown).toEqual({
      delayMs: 500,
      timeoutMs: 30_000,
    })
    for (const value of ['0x10', '1e1', '-1', ' 5']) {
      expect(() => loadConfig({ SHUTDOWN_DELAY: value })).toThrow(/^SHUTDOWN_DELAY: /)
    }
  })
})

describe('METRICS_TOKEN', () => {
  it('refuses a token with spaces, which no bearer header can carry', () => {
    expect(() => loadConfig({ METRICS_TOKEN: ' '.repeat(40) })).toThrow(/^METRICS_TOKEN: /)
    expect(loadConfig({ METRICS_TOKEN: 'm'.repeat(40) }).metricsToken).toBe('m'.repeat(40))
  })
})
