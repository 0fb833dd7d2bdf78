import { type Context, Hono } from 'hono'
import type { Config, ProtectedResource } from '../config.ts'
import { NotFound } from '../errors.ts'
import { publicCors } from '../http/cors.ts'
import { PROTECTED_RESOURCE_WELL_KNOWN as WELL_KNOWN } from '../oauth/resource.ts'

/** RFC 9728 §2 protected resource metadata for one of our resources. */
export function protectedResourceMetadata(config: Config, protectedResource: ProtectedResource) {
  return {
    resource: protectedResource.resource,
    authorization_servers: [config.issuer],
    scopes_supported: [...protectedResource.service.requiredScopes],
    bearer_methods_supported: ['header'],
    resource_name: protectedResource.service.description,
  }
}

/**
 * Serves the metadata of the resource the request's host and path name: the path-inserted form
 * `/.well-known/oauth-protected-resource/<path>` and the root form, which names the only resource
 * on that origin. The host may come from forwarding headers: only known resources are ever
 * answered, so a forged header can at most select another resource's public document.
 */
export const protectedResourceMetadataRoute = (config: Config) => {
  const answer = (c: Context, suffix: string) => {
    const origin = requestOrigin(c)
    const candidates = config.protectedResources.filter(
      (r) => origin !== undefined && new URL(r.resource).origin === origin
    )
    const match = suffix
      ? candidates.find((r) => stripSlash(r.resource) === stripSlash(origin + suffix))
      : candidates.length === 1
        ? candidates[0]
        : undefined
    if (!match) throw new NotFound('no protected resource is published at this address')
    return c.json(protectedResourceMetadata(config, match), 200, {
      'Cache-Control': 'public, max-age=300',
      // Which document depends on these: a shared cache must not hand one host's to another.
      Vary: 'Host, X-Forwarded-Host, X-Forwarded-Proto',
    })
  }
  return new Hono()
    .use(WELL_KNOWN, publicCors())
    .use(`${WELL_KNOWN}/*`, publicCors())
    .get(WELL_KNOWN, (c) => answer(c, ''))
    .get(`${WELL_KNOWN}/*`, (c) => answer(c, c.req.path.slice(WELL_KNOWN.length)))
}

/**
 * The origin the request was made to, as a URL names it (so a default port, as nginx's
 * `$server_port` adds it, is dropped); undefined when the headers name none.
 */
function requestOrigin(c: Context): string | undefined {
  const url = new URL(c.req.url)
  const proto =
    c.req.header('x-forwarded-proto')?.split(',')[0]?.trim() || url.protocol.slice(0, -1)
  const host =
    c.req.header('x-forwarded-host')?.split(',')[0]?.trim() || c.req.header('host') || url.host
  const named = `${proto}://${host}`
  return URL.canParse(named) ? new URL(named).origin : undefined
}

function stripSlash(value: string): string {
  return value.endsWith('/') ? value.slice(0, -1) : value
}
