import { describe, expect, it } from 'vitest'
import { loadConfig } from '../config.ts'
import { effectiveKeyPrefix, parseRedisUrl } from './redis-topology.ts'

describe('REDIS_URL topologies', () => {
  it('keeps redis:// and rediss:// URLs as they are', () => {
    expect(parseRedisUrl('redis://:pw@r:6379/2')).toEqual({
      kind: 'server',
      url: 'redis://:pw@r:6379/2',
    })
    expect(parseRedisUrl('rediss://r')).toEqual({ kind: 'server', url: 'rediss://r' })
  })

  it('reads Sentinels, the master name, the database and both passwords', () => {
    expect(
      parseRedisUrl(
        'redis-sentinel://:p%40ss@s1:26379,[::1]:26380,s3/mymaster?db=3&sentinel_password=sp'
      )
    ).toEqual({
      kind: 'sentinel',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: '::1', port: 26380 },
        { host: 's3', port: 26379 },
      ],
      masterName: 'mymaster',
      db: 3,
      credentials: { username: undefined, password: 'p@ss' },
      sentinelPassword: 'sp',
    })
  })

  it('reads the nodes and credentials of a Cluster', () => {
    expect(parseRedisUrl('redis-cluster://admin:pw@n1:7000,n2')).toEqual({
      kind: 'cluster',
      nodes: [
        { host: 'n1', port: 7000 },
        { host: 'n2', port: 6379 },
      ],
      credentials: { username: 'admin', password: 'pw' },
    })
  })

  it.each([
    ['http://redis', /redis:\/\//],
    ['redis-sentinel://s1:26379', /master name/],
    ['redis-sentinel://s1:26379/m?db=x', /database number/],
    ['redis-sentinel://s1:26379/m?tls=1', /parameter tls/],
    ['redis-cluster://n1:7000/0', /no databases/],
    ['redis-cluster://n1:99999', /host:port/],
    ['redis-cluster://n1:7000,,n2', /host:port/],
  ])('refuses %s at start-up, naming REDIS_URL', (url, message) => {
    expect(() => parseRedisUrl(url)).toThrow(message)
    expect(() => loadConfig({ REDIS_URL: url })).toThrow(/^REDIS_URL: /)
  })

  it('accepts every form in the configuration', () => {
    for (const url of ['redis://r', 'redis-sentinel://s/m', 'redis-cluster://a:1,b:2']) {
      expect(loadConfig({ REDIS_URL: url }).redis?.url).toBe(url)
    }
  })
})

describe('the key prefix', () => {
  const server = parseRedisUrl('redis://r')
  const sentinel = parseRedisUrl('redis-sentinel://s/m')
  const cluster = parseRedisUrl('redis-cluster://n:7000')

  it('is unchanged on one server and on Sentinel, so existing keys keep their names', () => {
    expect(effectiveKeyPrefix(server, 'gateway:')).toBe('gateway:')
    expect(effectiveKeyPrefix(sentinel, 'gateway:')).toBe('gateway:')
  })

  it('is one hash tag on a Cluster, so every key of a gateway is in one slot', () => {
    expect(effectiveKeyPrefix(cluster, 'gateway:')).toBe('{gateway}:')
    expect(effectiveKeyPrefix(cluster, 'team-a')).toBe('{team-a}')
    expect(effectiveKeyPrefix(cluster, '')).toBe('{gateway}')
    expect(effectiveKeyPrefix(cluster, '{gw}:')).toBe('{gw}:')
    // `{}` is no hash tag for Redis: the prefix is wrapped as a whole.
    expect(effectiveKeyPrefix(cluster, 'a{}b:')).toBe('{a{}b}:')
  })
})
