import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { parseTrustedProxies, type TrustProxy } from '../trusted-proxies.ts'
import { callerAddress, rateLimitAddress } from './caller.ts'

/** What a request looks like to the rate limits: its socket peer and its headers. */
async function callerOf(
  trustProxy: TrustProxy,
  remoteAddress: string | undefined,
  headers: Record<string, string> = {}
): Promise<string> {
  const app = new Hono().get('/', (c) => c.text(callerAddress(c, trustProxy)))
  const env = remoteAddress === undefined ? undefined : { incoming: { socket: { remoteAddress } } }
  return (await app.request('/', { headers }, env)).text()
}

describe('callerAddress', () => {
  it('is the socket peer when the proxy is not trusted, whatever X-Forwarded-For says', async () => {
    expect(await callerOf(false, '203.0.113.7')).toBe('203.0.113.7')
    expect(await callerOf(false, '203.0.113.7', { 'X-Forwarded-For': '198.51.100.1' })).toBe(
      '203.0.113.7'
    )
  })

  it('is the entry the trusted proxy appended: the last one, never one the client sent', async () => {
    const proxy = '10.0.0.2'
    expect(await callerOf(true, proxy, { 'X-Forwarded-For': '198.51.100.1' })).toBe('198.51.100.1')
    expect(
      await callerOf(true, proxy, { 'X-Forwarded-For': '1.1.1.1, 2.2.2.2 ,  198.51.100.1 ' })
    ).toBe('198.51.100.1')
  })

  it('falls back to the socket peer when the trusted header is missing or not an address', async () => {
    expect(await callerOf(true, '10.0.0.2')).toBe('10.0.0.2')
    expect(await callerOf(true, '10.0.0.2', { 'X-Forwarded-For': 'x'.repeat(500) })).toBe(
      '10.0.0.2'
    )
    expect(await callerOf(true, '10.0.0.2', { 'X-Forwarded-For': '198.51.100.1, ' })).toBe(
      '10.0.0.2'
    )
  })

  it('believes the header from the listed proxies only, when TRUST_PROXY lists them', async () => {
    const proxies = parseTrustedProxies('172.30.0.0/24, fd00:1::/64, 10.0.0.5')
    const claim = { 'X-Forwarded-For': '198.51.100.1' }
    expect(await callerOf(proxies, '172.30.0.2', claim)).toBe('198.51.100.1')
    expect(await callerOf(proxies, '::ffff:172.30.0.9', claim)).toBe('198.51.100.1')
    expect(await callerOf(proxies, 'fd00:1::7', claim)).toBe('198.51.100.1')
    expect(await callerOf(proxies, '10.0.0.5', claim)).toBe('198.51.100.1')
    // Another container on another network, or next to the proxy's single address.
    expect(await callerOf(proxies, '172.31.0.2', claim)).toBe('172.31.0.2')
    expect(await callerOf(proxies, '10.0.0.6', claim)).toBe('10.0.0.6')
    expect(await callerOf(proxies, 'fd00:2::7', claim)).toBe('fd00:2:0:0::/64')
    expect(await callerOf(proxies, undefined, claim)).toBe('unknown')
  })

  it.each([
    ['', 'name at least one address or network'],
    ['proxy.internal', 'proxy.internal is not an IP address or network'],
    ['10.0.0.0/33', '10.0.0.0/33: the prefix length must be 0–32'],
    ['fd00::/129', 'fd00::/129: the prefix length must be 0–128'],
    ['10.0.0.0/8/1', '10.0.0.0/8/1 is not an IP address or network'],
    ['10.0.0.0/x', '10.0.0.0/x: the prefix length must be 0–32'],
  ])('refuses the TRUST_PROXY list %j, naming the entry', (value, message) => {
    expect(() => parseTrustedProxies(value)).toThrow(message)
  })

  it('is "unknown" without a socket (in-process requests)', async () => {
    expect(await callerOf(false, undefined)).toBe('unknown')
  })

  it('counts an IPv6 caller by its /64 and an IPv4-mapped one as IPv4', async () => {
    expect(await callerOf(false, '::ffff:192.0.2.1')).toBe('192.0.2.1')
    expect(await callerOf(false, '2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64')
    expect(await callerOf(true, '10.0.0.2', { 'X-Forwarded-For': '2001:db8:1:2::ffff' })).toBe(
      '2001:db8:1:2::/64'
    )
  })
})

describe('rateLimitAddress', () => {
  it.each([
    ['192.0.2.1', '192.0.2.1'],
    ['::ffff:192.0.2.1', '192.0.2.1'],
    ['::FFFF:192.0.2.1', '192.0.2.1'],
    ['::1', '0:0:0:0::/64'],
    ['2001:DB8:0001:0002:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['2001:db8:1:2:3::', '2001:db8:1:2::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['64:ff9b::192.0.2.1', '64:ff9b:0:0::/64'],
    ['2001:db8:1:2:3:4:192.0.2.1', '2001:db8:1:2::/64'],
  ])('%s → %s', (address, expected) => {
    expect(rateLimitAddress(address)).toBe(expected)
  })

  it('puts every address of one /64 in one bucket and other /64s in others', () => {
    expect(rateLimitAddress('2001:db8:a:b::1')).toBe(rateLimitAddress('2001:db8:a:b:ffff::9'))
    expect(rateLimitAddress('2001:db8:a:b::1')).not.toBe(rateLimitAddress('2001:db8:a:c::1'))
  })

  it.each(['', 'unknown', '1.2.3', '1.2.3.4:80', '[::1]', 'all', '1.2.3.4, 5.6.7.8'])(
    'refuses %j',
    (value) => {
      expect(rateLimitAddress(value)).toBeUndefined()
    }
  )
})
