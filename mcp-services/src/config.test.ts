import { describe, expect, it } from 'vitest'
import { parseBridgeConfig } from './config.ts'
import { hostName } from './request-guard.ts'

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

  it('turns the idle timeout into milliseconds and refuses bad values', () => {
    expect(parseBridgeConfig({ SESSION_IDLE_TIMEOUT: '60' }).idleTimeoutMs).toBe(60_000)
    expect(() => parseBridgeConfig({ PORT: 'http' })).toThrow(/PORT/)
    expect(() => parseBridgeConfig({ MAX_SESSIONS: '0' })).toThrow(/MAX_SESSIONS/)
  })
})

describe('hostName', () => {
  it('drops the port', () => {
    expect(hostName('Example.COM:8443')).toBe('example.com')
    expect(hostName('[::1]:3000')).toBe('[::1]')
    expect(hostName('localhost')).toBe('localhost')
  })
})
