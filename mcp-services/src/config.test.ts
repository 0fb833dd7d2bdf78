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

describe('hostName', () => {
  it('drops the port', () => {
    expect(hostName('Example.COM:8443')).toBe('example.com')
    expect(hostName('[::1]:3000')).toBe('[::1]')
    expect(hostName('localhost')).toBe('localhost')
  })
})
