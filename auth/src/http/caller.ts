import { isIP } from 'node:net'
import type { Context } from 'hono'
import { type TrustProxy, trustsPeer } from '../trusted-proxies.ts'

interface NodeBindings {
  readonly incoming?: { readonly socket?: { readonly remoteAddress?: string } }
}

/**
 * The caller's address for rate limiting. Behind a trusted reverse proxy (`TRUST_PROXY`: any peer,
 * or the proxy's addresses) it is the last X-Forwarded-For entry: the one the proxy appended, the
 * only one a client cannot forge (entries before it are whatever the client sent). Otherwise, or
 * when that entry is not an address, the socket's peer.
 *
 * An IPv6 caller is its /64: one host gets a whole /64, and counting per address would give it
 * 2^64 buckets. An IPv4-mapped address is the IPv4 address.
 */
export function callerAddress(c: Context, trustProxy: TrustProxy): string {
  return chosenAddress(c, trustProxy, rateLimitBucket)
}

/**
 * The caller's address for the audit trail, chosen as `callerAddress` chooses it but whole: an
 * IPv6 caller is its own address, not its /64. An IPv4-mapped address is the IPv4 address.
 */
export function auditAddress(c: Context, trustProxy: TrustProxy): string {
  return chosenAddress(c, trustProxy, (address) => address)
}

/**
 * The trusted proxy's last X-Forwarded-For entry, else the socket's peer, each read once as a
 * plain address and then written as `form` writes it.
 */
function chosenAddress(
  c: Context,
  trustProxy: TrustProxy,
  form: (plain: string) => string
): string {
  const raw = (c.env as NodeBindings | undefined)?.incoming?.socket?.remoteAddress
  const peer = raw === undefined ? undefined : plainAddress(raw)
  if (trustsPeer(trustProxy, peer)) {
    const forwarded = c.req.header('x-forwarded-for')?.split(',').at(-1)?.trim()
    const address = forwarded ? plainAddress(forwarded) : undefined
    if (address) return form(address)
  }
  return peer ? form(peer) : 'unknown'
}

function plainAddress(value: string): string | undefined {
  const address = value.replace(/%.*$/, '').toLowerCase()
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(address)?.[1]
  if (mapped && isIP(mapped) === 4) return mapped
  return isIP(address) === 0 ? undefined : address
}

/** The address as rate limits count it, or undefined when `value` is not an IP address. */
export function rateLimitAddress(value: string): string | undefined {
  const address = plainAddress(value)
  return address === undefined ? undefined : rateLimitBucket(address)
}

/** A plain address as rate limits count it: an IPv6 address as its /64. */
function rateLimitBucket(plain: string): string {
  return isIP(plain) === 6 ? `${ipv6Groups(plain).slice(0, 4).join(':')}::/64` : plain
}

/** The eight 16-bit groups of a valid IPv6 address, without leading zeros. */
function ipv6Groups(address: string): string[] {
  const [head = '', tail] = address.toLowerCase().split('::')
  const groups = (part: string) =>
    part
      .split(':')
      .filter(Boolean)
      // A trailing dotted quad is two groups; only the first four groups matter here.
      .flatMap((group) => (group.includes('.') ? ['0', '0'] : [group.replace(/^0+(?=.)/, '')]))
  const left = groups(head)
  const right = tail === undefined ? [] : groups(tail)
  return [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
}
