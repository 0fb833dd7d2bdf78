import type { Config, ProtectedResource } from '../config.ts'
import { AccessDenied } from '../errors.ts'
import { LruCache } from '../lru-cache.ts'
import { protectedResourceMetadataUrl } from '../oauth/resource.ts'
import { pathInNormalForm } from './path-normal-form.ts'

/** Reads one request header (case-insensitive), as Hono's `c.req.header(name)` does. */
export type HeaderReader = (name: string) => string | undefined

/**
 * The URL the client asked the proxy for, rebuilt from the forwarding headers:
 * `X-Forwarded-Proto` + `X-Forwarded-Host` + `X-Forwarded-Uri` (Traefik, Caddy), else
 * `X-Original-URL`, else `X-Forwarded-Proto` + `X-Forwarded-Host` + `X-Original-URI` (the nginx
 * convention). Several sources that disagree yield nothing: one of them was sent by the client.
 * Without any, the request names no protected resource. The proxy must set these headers itself on
 * every auth request.
 *
 * Throws `AccessDenied` when a forwarded path is not in normal form (`pathInNormalForm`): the
 * proxy, the service and this check could each read it as a different path, so no resource can
 * be said to be the one the request reaches. Likewise when the forwarded host is more than a host
 * and a port (`HOST`), or `X-Forwarded-Host` or `X-Forwarded-Proto` is a list (`single`).
 */
function forwardedTarget(header: HeaderReader): URL | undefined {
  const proto = single(header('x-forwarded-proto')) ?? 'http'
  const host = single(header('x-forwarded-host')) ?? header('host')
  const candidates: (string | undefined)[] = []
  const forwardedUri = header('x-forwarded-uri')
  const originalUrl = header('x-original-url')
  const originalUri = header('x-original-uri')
  for (const value of [forwardedUri, originalUrl, originalUri]) {
    // A repeated header arrives joined by ", ", which no request target holds (no raw spaces):
    // the first entry ending in `?` would make the rest a query that no check judges.
    if (value !== undefined && (value.includes(', ') || !pathInNormalForm(value))) {
      throw new AccessDenied('the forwarded path is not in normal form', {
        reason: 'ambiguous_path',
      })
    }
  }
  const joinsHost = forwardedUri !== undefined || originalUri !== undefined
  const originalAuthority = originalUrl && ABSOLUTE_TARGET.exec(originalUrl)?.[1]
  if (
    (joinsHost && host !== undefined && !HOST.test(host)) ||
    (originalAuthority !== undefined && !HOST.test(originalAuthority))
  ) {
    throw new AccessDenied('the forwarded host is not a host name or address with a port', {
      reason: 'ambiguous_host',
    })
  }
  if (forwardedUri !== undefined) candidates.push(joinTarget(proto, host, forwardedUri))
  if (originalUrl !== undefined) candidates.push(parse(originalUrl)?.href)
  if (originalUri !== undefined) candidates.push(joinTarget(proto, host, originalUri))
  const [target] = candidates
  if (target === undefined || candidates.some((candidate) => candidate !== target)) return undefined
  return parse(target)
}

/**
 * A forwarding header as a proxy sets it for the auth request: one value. A list (commas, or the
 * header repeated) means some hop appended to a value the client sent, and which entry is the
 * proxy's cannot be told here; taking the first would let the client pick the resource whose
 * audience is checked.
 */
function single(value: string | undefined): string | undefined {
  if (value === undefined) return undefined
  if (value.includes(',')) {
    throw new AccessDenied('a forwarding header holds a list of values', {
      reason: 'ambiguous_host',
    })
  }
  const entry = value.trim()
  return entry === '' ? undefined : entry
}

function joinTarget(proto: string, host: string | undefined, uri: string): string | undefined {
  if (!host || !/^https?$/i.test(proto) || !uri.startsWith('/') || uri.startsWith('//')) {
    return undefined
  }
  return parse(`${proto}://${host}${uri}`)?.href
}

/**
 * A host as a proxy forwards it: a name or an IPv4 address, or an IPv6 literal, then maybe a
 * port. Nothing else may stand there: a proxy that copies the client's `Host` (`$http_host`,
 * `$host` in nginx, which takes `\`, `?` and `#` in it) would otherwise let the client move a path
 * of its choosing into the URL rebuilt here (`echo.example.com\mcp?` + `/memory/mcp` reads as
 * `/mcp` with a query) and past the resource and policy checks.
 */
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::\d{1,5})?$/

/** The authority of an absolute `X-Original-URL`, which the same rule holds to. */
const ABSOLUTE_TARGET = /^https?:\/\/([^/?#\\]*)/i

function parse(value: string): URL | undefined {
  const url = URL.parse(value)
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) return undefined
  if (url.username || url.password) return undefined
  return url
}

/** A protected resource as `/verify` matches it, with its challenge's metadata URL. */
export interface ResourceMatch {
  readonly resource: ProtectedResource
  readonly metadataUrl: string
}

export interface ResourceIndex {
  /** The resource the target lies in: same origin, and its path or a path below it. */
  match(target: URL): ResourceMatch | undefined
  /** Whether exactly one protected resource lives at `origin` (the root metadata form names it). */
  hasOneResource(origin: string): boolean
}

/** Precomputes origin and path of every protected resource once. */
function resourceIndex(config: Pick<Config, 'protectedResources'>): ResourceIndex {
  const entries = config.protectedResources.map((resource) => {
    const url = new URL(resource.resource)
    return {
      origin: url.origin,
      path: url.pathname.replace(/\/+$/, ''),
      match: { resource, metadataUrl: protectedResourceMetadataUrl(resource.resource) },
    }
  })
  const perOrigin = new Map<string, number>()
  for (const entry of entries) perOrigin.set(entry.origin, (perOrigin.get(entry.origin) ?? 0) + 1)
  return {
    match(target) {
      const path = target.pathname
      for (const entry of entries) {
        if (entry.origin !== target.origin) continue
        if (path === entry.path || path.startsWith(`${entry.path}/`)) return entry.match
      }
      return undefined
    },
    hasOneResource: (origin) => perOrigin.get(origin) === 1,
  }
}

/** Where the path-less root form of the metadata lives, for a target that matches no resource. */
const ROOT_METADATA = '/.well-known/oauth-protected-resource'

/** What the forwarding headers of one request name. */
export interface TargetResolution {
  /** The protected resource, if the target is one. */
  readonly match: ResourceMatch | undefined
  /** The metadata URL for the challenge: the resource's, else the target origin's root form. */
  readonly metadataUrl: string | undefined
}

/**
 * `forwardedTarget` + `ResourceIndex.match`, remembered per distinct set of forwarding headers:
 * a proxy sends the same few values again and again, so URL parsing leaves the hot path.
 */
export function createTargetResolver(
  config: Pick<Config, 'protectedResources'>,
  capacity = 1_024
): (header: HeaderReader) => TargetResolution {
  const index = resourceIndex(config)
  const cache = new LruCache<string, TargetResolution>(capacity)
  const names = ['x-forwarded-proto', 'x-forwarded-host', 'host', 'x-forwarded-uri']
  const optional = ['x-original-url', 'x-original-uri']
  return (header) => {
    let key = ''
    for (const name of names) key += `${header(name) ?? ''}\n`
    for (const name of optional) {
      const value = header(name)
      key += value === undefined ? '\u0000' : `${value}\n`
    }
    let resolution = cache.get(key)
    if (!resolution) {
      const target = forwardedTarget(header)
      const match = target ? index.match(target) : undefined
      resolution = {
        match,
        // The root form answers only on an origin with one resource (RFC 9728 §3.1 leaves it
        // ambiguous elsewhere); on another, a challenge naming it would point at a 404.
        metadataUrl:
          match?.metadataUrl ??
          (target && index.hasOneResource(target.origin)
            ? target.origin + ROOT_METADATA
            : undefined),
      }
      cache.set(key, resolution)
    }
    return resolution
  }
}
