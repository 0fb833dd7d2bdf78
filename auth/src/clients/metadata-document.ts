import type { IncomingHttpHeaders } from 'node:http'
import { request } from 'node:https'
import { isIP, type LookupFunction, type Socket } from 'node:net'
import { guardedLookup, isPermittedAddress } from './public-address.ts'

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
  /** What the operator's log says beyond the message (never shown to the caller). */
  readonly detail: string | undefined

  constructor(
    message: string,
    options: { transient?: boolean; cause?: unknown; detail?: string } = {}
  ) {
    super(message, { cause: options.cause })
    this.transient = options.transient ?? false
    this.detail = options.detail
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

const PUBLIC_ONLY = 'documents are fetched from public addresses only'

/**
 * A host the gateway will not fetch from. An address the caller wrote is named; where a name led is
 * not, nor whether the name exists (ENOTFOUND says the same), so anyone naming URLs cannot use the
 * gateway's resolver to map the names of its own network. The operator's log has the address.
 */
function notPublic(host: string, address: string): MetadataDocumentError {
  if (host.replace(/^\[|\]$/g, '') !== address) {
    return noPublicAddress(host, { detail: `resolved to ${address}` })
  }
  return new MetadataDocumentError(`its host ${host} is not a public address: ${PUBLIC_ONLY}`)
}

/** The one refusal of a host name, whatever the operator's log says happened to it. */
function noPublicAddress(
  host: string,
  options: { detail: string; cause?: unknown }
): MetadataDocumentError {
  return new MetadataDocumentError(
    `its host ${host} has no public address: ${PUBLIC_ONLY}`,
    options
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
    const startedAt = Date.now()
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
        if (error.message !== NO_CONNECTION) return reject(error)
        // Told at the deadline however soon it came: a refused port answers at once, a silent one
        // only then, and the time taken would tell them apart as the words no longer do.
        setTimeout(() => reject(error), Math.max(0, startedAt + timeoutMs - Date.now()))
      })
    const req = request(url, {
      method: 'GET',
      // A fresh connection each time: the address checks hold for the socket this request uses.
      agent: false,
      lookup: guardedLookup(options.allowLoopback, notPublic, options.lookup),
      headers: {
        Accept: 'application/json',
        'Accept-Encoding': 'identity',
        'User-Agent': 'mcp-oauth-gateway (client ID metadata document)',
      },
    })
    let secured = false
    const deadline = setTimeout(
      () =>
        fail(
          secured
            ? new MetadataDocumentError(
                `it did not answer completely within ${timeoutMs / 1000} s`,
                { transient: true }
              )
            : noConnection(`no TLS session within ${timeoutMs / 1000} s`)
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
      socket.once('secureConnect', () => {
        secured = true
        check()
      })
    })
    req.on('error', (error) => fail(asDocumentError(error, url.hostname)))
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
          new MetadataDocumentError(`it is not JSON (Content-Type: ${mediaTypeShown(type)})`)
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
      response.on('error', (error) => fail(asDocumentError(error, url.hostname)))
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
  // Only a web address's host, and a short one: the message is shown on the gateway's page.
  const location = headers.location ? URL.parse(headers.location, url.href) : null
  if (location && /^https?:$/.test(location.protocol) && location.host.length <= 64) {
    target = ` to ${location.host}`
  }
  return `it answered with a redirect (HTTP ${status}${target}), which is not followed: the document must be served at its client_id URL`
}

/** The media type of a Content-Type, when it is one (the error is shown on the gateway's page). */
function mediaTypeShown(value: string | undefined): string {
  const type = value?.split(';')[0]?.trim() ?? ''
  if (type === '') return 'none'
  return /^[\w.+-]{1,20}\/[\w.+-]{1,20}$/.test(type) ? type : 'not a media type (not shown)'
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

/**
 * Network and TLS failures; our own refusals (from the lookup) pass through. Whatever stopped the
 * connection, the caller is told one thing, and the operator's log the rest: told apart, refused,
 * reset, silent and TLS-speaking ports would make the gateway a port scanner of any public host
 * that trusts its address (a client_id URL may name any port).
 */
function asDocumentError(error: Error & { code?: string }, host: string): MetadataDocumentError {
  if (error instanceof MetadataDocumentError) return error
  const code = error.code ?? ''
  if (/CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO/i.test(code)) {
    return noConnection(`its TLS certificate is not trusted (${code})`, error)
  }
  // The resolver says the name does not exist: the client_id is wrong, and retrying will not help
  // (a resolver that cannot answer now says EAI_AGAIN, which stays transient).
  if (code === 'ENOTFOUND') {
    return noPublicAddress(host, { cause: error, detail: 'the name does not exist (DNS)' })
  }
  if (code === 'EAI_AGAIN') {
    return new MetadataDocumentError('its host name could not be resolved', {
      transient: true,
      cause: error,
    })
  }
  return noConnection(code || error.message, error)
}

const NO_CONNECTION = 'no trusted https connection to its host could be made'

/** Transient, whatever the cause: a host's certificate or firewall is put right by its owner. */
function noConnection(detail: string, cause?: unknown): MetadataDocumentError {
  return new MetadataDocumentError(NO_CONNECTION, {
    transient: true,
    cause,
    detail,
  })
}
