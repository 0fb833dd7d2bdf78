import { BlockList, isIP } from 'node:net'

/**
 * `TRUST_PROXY`: whether `X-Forwarded-For` names the caller. `true` believes it from any peer
 * (only the proxy can reach the gateway); a list of the proxy's addresses or networks believes it
 * from those peers alone, so another container or pod that can reach the gateway directly cannot
 * choose its own address for rate limits and the audit trail.
 */
export type TrustProxy = boolean | TrustedProxies

export interface TrustedProxies {
  /** The addresses and networks as configured, for messages and docs. */
  readonly ranges: readonly string[]
  readonly list: BlockList
}

/**
 * Parses a comma-separated list of IPv4/IPv6 addresses and CIDR networks (`172.30.0.0/24,
 * fd00::/64, 10.0.0.5`). Throws, naming the entry, on anything else.
 */
export function parseTrustedProxies(value: string): TrustedProxies {
  const ranges = value
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
  if (ranges.length === 0) throw new Error('name at least one address or network')
  const list = new BlockList()
  for (const range of ranges) {
    const [address = '', prefix, extra] = range.split('/')
    const family = isIP(address)
    if (family === 0 || extra !== undefined) {
      throw new Error(`${range} is not an IP address or network (10.0.0.5, 172.30.0.0/24)`)
    }
    const type = family === 6 ? 'ipv6' : 'ipv4'
    if (prefix === undefined) {
      list.addAddress(address, type)
      continue
    }
    const bits = Number(prefix)
    if (!/^\d{1,3}$/.test(prefix) || bits > (family === 6 ? 128 : 32)) {
      throw new Error(`${range}: the prefix length must be 0–${family === 6 ? 128 : 32}`)
    }
    list.addSubnet(address, bits, type)
  }
  return { ranges, list }
}

/**
 * Whether the peer at `address` is a trusted proxy: a plain address (an IPv4-mapped one written
 * as IPv4, no zone), as `http/caller.ts` gives it; undefined for none known.
 */
export function trustsPeer(trust: TrustProxy, address: string | undefined): boolean {
  if (typeof trust === 'boolean') return trust
  const family = address === undefined ? 0 : isIP(address)
  if (address === undefined || family === 0) return false
  return trust.list.check(address, family === 6 ? 'ipv6' : 'ipv4')
}
