import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions } from 'node:dns'
import { BlockList, isIP, type LookupFunction } from 'node:net'

/**
 * Which addresses the gateway connects to on behalf of anonymous callers (client ID metadata
 * documents): public ones only, so nobody can aim it at its own network (SSRF).
 */

const LOOPBACK = new BlockList()
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4')
LOOPBACK.addAddress('::1', 'ipv6')

/** Addresses that are not on the public internet: private, shared, link-local (cloud metadata), reserved. */
const NOT_PUBLIC = new BlockList()
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  NOT_PUBLIC.addSubnet(network, prefix, 'ipv4')
}
for (const [network, prefix] of [
  // Unspecified, loopback and IPv4-compatible; IPv4-mapped addresses are checked as IPv4.
  ['::', 96],
  // NAT64 and 6to4 embed IPv4 addresses, Teredo (in 2001::/23) too: they could reach private ones.
  // So does IPv4-translated (`::ffff:0:a.b.c.d`, SIIT), which is no IPv4-mapped address.
  ['::ffff:0:0:0', 96],
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001::', 23],
  ['2001:db8::', 32],
  ['2002::', 16],
  // The second documentation range (RFC 9637).
  ['3fff::', 20],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const) {
  NOT_PUBLIC.addSubnet(network, prefix, 'ipv6')
}
/** Global unicast IPv6; anything outside it is reserved. */
const GLOBAL_UNICAST = new BlockList()
GLOBAL_UNICAST.addSubnet('2000::', 3, 'ipv6')

/** `::ffff:a.b.c.d` or `::ffff:hhhh:hhhh` (::ffff:0:0/96), which BlockList checks as the IPv4 it holds. */
const MAPPED_IPV4 = /^::ffff:(?:\d{1,3}(?:\.\d{1,3}){3}|[\da-f]{1,4}:[\da-f]{1,4})$/i

/** Whether the gateway may connect to `address` for a metadata document. */
export function isPermittedAddress(address: string, allowLoopback: boolean): boolean {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '')
  const family = isIP(bare)
  if (family === 0) return false
  const type = family === 4 ? 'ipv4' : 'ipv6'
  if (allowLoopback && LOOPBACK.check(bare, type)) return true
  if (NOT_PUBLIC.check(bare, type)) return false
  const mappedIpv4 = type === 'ipv6' && MAPPED_IPV4.test(bare)
  return type === 'ipv4' || mappedIpv4 || GLOBAL_UNICAST.check(bare, 'ipv6')
}

/**
 * A `lookup` for sockets that refuses a host when any address it resolves to is not permitted: a
 * name that also points inside the network is not one to trust with the rest.
 */
export function guardedLookup(
  allowLoopback: boolean,
  refuse: (host: string, address: string) => Error,
  resolve: LookupFunction = dnsLookup
) {
  const guarded = (
    hostname: string,
    options: LookupAllOptions | Record<string, unknown>,
    callback: (
      error: NodeJS.ErrnoException | null,
      address: string | LookupAddress[],
      family?: number
    ) => void
  ): void => {
    resolve(hostname, { ...options, all: true }, (error, result) => {
      if (error) return callback(error, [])
      const addresses = Array.isArray(result) ? result : [{ address: result, family: 4 }]
      const refused = addresses.find(({ address }) => !isPermittedAddress(address, allowLoopback))
      if (refused || addresses.length === 0) {
        return callback(refuse(hostname, refused?.address ?? 'no address'), [])
      }
      if ((options as { all?: boolean }).all) return callback(null, addresses)
      const [first] = addresses as [LookupAddress]
      return callback(null, first.address, first.family)
    })
  }
  return guarded as unknown as LookupFunction
}
