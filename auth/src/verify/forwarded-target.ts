import type { Config, ProtectedResource } from '../config.ts'
import { protectedResourceMetadataUrl } from '../routes/protected-resource-metadata.ts'

/** Reads one request header (case-insensitive), as Hono's `c.req.header(name)` does. */
export type HeaderReader = (name: string) => string | undefined

/**
 * The URL the client asked the proxy for, rebuilt from the forwarding headers:
 * `X-Forwarded-Proto` + `X-Forwarded-Host` + `X-Forwarded-Uri` (Traefik, Caddy), else
 * `X-Original-URL`, else `X-Forwarded-Proto` + `X-Forwarded-Host` + `X-Original-URI` (the nginx
 * convention). Several sources that disagree yield nothing: one of them was sent by the client.
 * Without any, the request names no protected resource. The proxy must set these headers itself on
 * every auth request; the path is normalised (`..`, `.`), so it selects what the proxy routed.
 */
export function forwardedTarget(header: HeaderReader): URL | undefined {
  const proto = first(header('x-forwarded-proto')) ?? 'http'
  const host = first(header('x-forwarded-host')) ?? header('host')
  const candidates: (string | undefined)[] = []
  const forwardedUri = header('x-forwarded-uri')
  const originalUrl = header('x-original-url')
  const originalUri = header('x-original-uri')
  if (forwardedUri !== undefined) candidates.push(joinTarget(proto, host, forwardedUri))
  if (originalUrl !== undefined) candidates.push(parse(originalUrl)?.href)
  if (originalUri !== undefined) candidates.push(joinTarget(proto, host, originalUri))
  const [target] = candidates
  if (target === undefined || candidates.some((candidate) => candidate !== target)) return undefined
  return parse(target)
}

/** One comma-separated hop list entry: the first, set by the proxy nearest the client. */
function first(value: string | undefined): string | undefined {
  if (value === undefined) return undefined
  const comma = value.indexOf(',')
  const entry = (comma === -1 ? value : value.slice(0, comma)).trim()
  return entry === '' ? undefined : entry
}

function joinTarget(proto: string, host: string | undefined, uri: string): string | undefined {
  if (!host || !/^https?$/i.test(proto) || !uri.startsWith('/') || uri.startsWith('//')) {
    return undefined
  }
  return parse(`${proto}://${host}${uri}`)?.href
}

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
}

/** Precomputes origin and path of every protected resource once. */
export function resourceIndex(config: Pick<Config, 'protectedResources'>): ResourceIndex {
  const entries = config.protectedResources.map((resource) => {
    const url = new URL(resource.resource)
    return {
      origin: url.origin,
      path: url.pathname.replace(/\/+$/, ''),
      match: { resource, metadataUrl: protectedResourceMetadataUrl(resource.resource) },
    }
  })
  return {
    match(target) {
      const path = target.pathname
      for (const entry of entries) {
        if (entry.origin !== target.origin) continue
        if (path === entry.path || path.startsWith(`${entry.path}/`)) return entry.match
      }
      return undefined
    },
  }
}
