import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions } from 'node:dns'
import type { IncomingHttpHeaders } from 'node:http'
import { request } from 'node:https'
import { BlockList, isIP, type LookupFunction, type Socket } from 'node:net'

/**
 * Fetching a client ID metadata document (draft-ietf-oauth-client-id-metadata-document) without
 * letting an anonymous caller aim the gateway at its own network (SSRF): https only, every
 * address the host resolves to must be public (checked again on the socket actually connected,
 * so a DNS answer that changes between lookup and connect gains nothing), no redirects at all,
 * one deadline for the whole exchange, a small size cap, JSON only.
 */

/** The draft recommends a 5 KB cap; real documents are under 1 KiB. */
export const METADATA_DOCUMENT_MAX_BYTES = 5 * 1024
/** Connect, TLS, headers and body together; MCP clients give a token request about 10 s. */
export const METADATA_DOCUMENT_TIMEOUT_MS = 5_000

/** Why a document could not be had. `transient`: the host may answer later (retry is useful). */
export class MetadataDocumentError extends Error {
  override readonly name = 'MetadataDocumentError'
  readonly transient: boolean

  constructor(message: string, options: { transient?: boolean; cause?: unknown } = {}) {
    super(message, { cause: options.cause })
    this.transient = options.transient ?? false
  }
}

export interface MetadataDocumentFetchOptions {
  /**
   * `CIMD_ALLOW_LOOPBACK`, for tests only: loopback addresses (127.0.0.0/8, ::1) may be connected
   * to. Private, link-local and metadata addresses stay refused.
   */
  readonly allowLoopback: boolean
  /** Resolves host names (`dns.lookup` by default); the guard checks whatever it answers. */
  readonly lookup?: LookupFunction
  readonly timeoutMs?: number
  readonly maxBytes?: number
}

export interface FetchedMetadataDocument {
  readonly document: unknown
  /**
   * How long the response may be cached, in seconds, from `Cache-Control` (`max-age`;
   * `no-store`/`no-cache` give 0) or `Expires`; undefined when the response says nothing.
   */
  readonly maxAgeSeconds: number | undefined
}

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
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001::', 23],
  ['2001:db8::', 32],
  ['2002::', 16],
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

/** Whether the gateway may connect to `address` for a metadata document. */
export function isPermittedAddress(address: string, allowLoopback: boolean): boolean {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '')
  const family = isIP(bare)
  if (family === 0) return false
  const type = family === 4 ? 'ipv4' : 'ipv6'
  if (allowLoopback && LOOPBACK.check(bare, type)) return true
  if (NOT_PUBLIC.check(bare, type)) return false
  const mappedIpv4 = type === 'ipv6' && /^::ffff:/i.test(bare)
  return type === 'ipv4' || mappedIpv4 || GLOBAL_UNICAST.check(bare, 'ipv6')
}

/**
 * A `lookup` for sockets that refuses a host when any address it resolves to is not permitted: a
 * name that also points inside the network is not one to trust with the rest.
 */
export function guardedLookup(allowLoopback: boolean, resolve: LookupFunction = dnsLookup) {
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
        return callback(notPublic(hostname, refused?.address ?? 'no address'), [])
      }
      if ((options as { all?: boolean }).all) return callback(null, addresses)
      const [first] = addresses as [LookupAddress]
      return callback(null, first.address, first.family)
    })
  }
  return guarded as unknown as LookupFunction
}

function notPublic(host: string, address: string): MetadataDocumentError {
  const where = host.replace(/^\[|\]$/g, '') === address ? host : `${host} (${address})`
  return new MetadataDocumentError(
    `its host ${where} is not a public address: documents are fetched from public addresses only`
  )
}

/** GETs the document at `url`; every failure is a `MetadataDocumentError` saying what went wrong. */
export function fetchMetadataDocument(
  url: URL,
  options: MetadataDocumentFetchOptions
): Promise<FetchedMetadataDocument> {
  const timeoutMs = options.timeoutMs ?? METADATA_DOCUMENT_TIMEOUT_MS
  const maxBytes = options.maxBytes ?? METADATA_DOCUMENT_MAX_BYTES
  return new Promise((resolve, reject) => {
    if (url.protocol !== 'https:') {
      return reject(new MetadataDocumentError('it is not an https URL'))
    }
    const literal = url.hostname.replace(/^\[|\]$/g, '')
    // Sockets skip `lookup` for an IP address: it is checked here, and on connect below.
    if (isIP(literal) && !isPermittedAddress(literal, options.allowLoopback)) {
      return reject(notPublic(url.hostname, literal))
    }
    let settled = false
    const finish = (outcome: () => void) => {
      if (settled) return
      settled = true
      clearTimeout(deadline)
      outcome()
    }
    const fail = (error: MetadataDocumentError) =>
      finish(() => {
        req.destroy()
        reject(error)
      })
    const req = request(url, {
      method: 'GET',
      // A fresh connection each time: the address checks hold for the socket this request uses.
      agent: false,
      lookup: guardedLookup(options.allowLoopback, options.lookup),
      headers: {
        Accept: 'application/json',
        'Accept-Encoding': 'identity',
        'User-Agent': 'mcp-oauth-gateway (client ID metadata document)',
      },
    })
    const deadline = setTimeout(
      () =>
        fail(
          new MetadataDocumentError(`it did not answer completely within ${timeoutMs / 1000} s`, {
            transient: true,
          })
        ),
      timeoutMs
    )
    req.on('socket', (socket: Socket) => {
      const check = () => {
        const address = socket.remoteAddress ?? ''
        if (!isPermittedAddress(address, options.allowLoopback)) {
          fail(notPublic(url.hostname, address || 'an unknown address'))
        }
      }
      // TCP connect comes before any request byte is sent (those wait for the TLS handshake).
      socket.once('connect', check)
      socket.once('secureConnect', check)
    })
    req.on('error', (error) => fail(asDocumentError(error)))
    req.on('response', (response) => {
      const status = response.statusCode ?? 0
      if (status >= 300 && status < 400) {
        return fail(new MetadataDocumentError(redirectProblem(status, response.headers, url)))
      }
      if (status !== 200) {
        const transient = status >= 500 || status === 429
        return fail(new MetadataDocumentError(`it answered HTTP ${status}`, { transient }))
      }
      const type = response.headers['content-type']
      if (!isJsonMediaType(type)) {
        return fail(
          new MetadataDocumentError(
            `it is not JSON (Content-Type: ${type?.slice(0, 80) || 'none'})`
          )
        )
      }
      const tooLarge = () =>
        new MetadataDocumentError(
          `it is larger than ${maxBytes} bytes, the most this gateway reads`
        )
      if (Number(response.headers['content-length'] ?? 0) > maxBytes) return fail(tooLarge())
      const chunks: Buffer[] = []
      let size = 0
      response.on('data', (chunk: Buffer) => {
        size += chunk.length
        if (size > maxBytes) fail(tooLarge())
        else chunks.push(chunk)
      })
      response.on('error', (error) => fail(asDocumentError(error)))
      response.on('end', () => {
        let document: unknown
        try {
          document = JSON.parse(Buffer.concat(chunks).toString('utf8'))
        } catch {
          return fail(new MetadataDocumentError('it is not valid JSON'))
        }
        finish(() => resolve({ document, maxAgeSeconds: cacheLifetime(response.headers) }))
      })
    })
    req.end()
  })
}

/** The draft forbids following redirects; the answer says where it pointed, for the operator. */
function redirectProblem(status: number, headers: IncomingHttpHeaders, url: URL): string {
  let target = ''
  try {
    if (headers.location) target = ` to ${new URL(headers.location, url).host}`
  } catch {
    // an unparsable Location: say nothing about it
  }
  return `it answered with a redirect (HTTP ${status}${target}), which is not followed: the document must be served at its client_id URL`
}

/** `application/json` or `application/<anything>+json`, parameters allowed; nothing else. */
function isJsonMediaType(value: string | undefined): boolean {
  const type = value?.split(';')[0]?.trim().toLowerCase() ?? ''
  return type === 'application/json' || /^application\/[\w.+-]+\+json$/.test(type)
}

function cacheLifetime(headers: IncomingHttpHeaders): number | undefined {
  const directives = (headers['cache-control'] ?? '').toLowerCase().split(',')
  const names = directives.map((directive) => directive.split('=')[0]?.trim())
  if (names.includes('no-store') || names.includes('no-cache')) return 0
  const maxAge = directives
    .map((directive) => /^\s*max-age\s*=\s*"?(\d+)"?\s*$/.exec(directive)?.[1])
    .find((value) => value !== undefined)
  if (maxAge !== undefined) return Number(maxAge)
  const expires = Date.parse(headers.expires ?? '')
  if (Number.isNaN(expires)) return undefined
  const date = Date.parse(headers.date ?? '')
  return Math.max(0, Math.floor((expires - (Number.isNaN(date) ? Date.now() : date)) / 1000))
}

/** Network and TLS failures in words; our own refusals (from the lookup) pass through. */
function asDocumentError(error: Error & { code?: string }): MetadataDocumentError {
  if (error instanceof MetadataDocumentError) return error
  const code = error.code ?? ''
  if (/CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO/i.test(code)) {
    return new MetadataDocumentError(`its TLS certificate is not trusted (${code})`, {
      cause: error,
    })
  }
  const why: Record<string, string> = {
    ENOTFOUND: 'its host name does not resolve',
    EAI_AGAIN: 'its host name could not be resolved',
    ECONNREFUSED: 'the connection was refused',
    ECONNRESET: 'the connection was reset',
    ETIMEDOUT: 'the connection timed out',
    EHOSTUNREACH: 'its host is unreachable',
    ENETUNREACH: 'its network is unreachable',
  }
  return new MetadataDocumentError(
    why[code] ?? `it could not be fetched (${code || error.message})`,
    {
      transient: true,
      cause: error,
    }
  )
}
