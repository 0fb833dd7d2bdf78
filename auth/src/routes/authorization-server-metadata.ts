import { Hono } from 'hono'
import type { Config } from '../config.ts'
import { publicCors } from '../http/cors.ts'

/**
 * RFC 8414 authorization server metadata. `issuer` is `AUTH_ISSUER` byte for byte, and only
 * endpoints this server really has are advertised. The same document is served as the OpenID
 * configuration and under path-inserted forms, for clients that probe those.
 */
export function authorizationServerMetadata(config: Config): Record<string, unknown> {
  const url = (path: string) => `${config.issuer}${path}`
  return {
    issuer: config.issuer,
    registration_endpoint: url('/register'),
    jwks_uri: url('/jwks'),
    scopes_supported: supportedScopes(config),
  }
}

/** Every scope a protected resource requires (PRM `scopes_supported` lists them per resource). */
export function supportedScopes(config: Config): string[] {
  return [...new Set(config.protectedResources.flatMap((r) => r.service.requiredScopes))]
}

export const authorizationServerMetadataRoute = (config: Config) => {
  const document = JSON.stringify(authorizationServerMetadata(config))
  const serve = new Hono()
  for (const name of ['oauth-authorization-server', 'openid-configuration']) {
    for (const path of [`/.well-known/${name}`, `/.well-known/${name}/*`]) {
      serve.use(path, publicCors()).get(path, (c) => c.body(document, 200, jsonHeaders))
    }
  }
  return serve
}

const jsonHeaders = { 'Content-Type': 'application/json', 'Cache-Control': 'public, max-age=300' }
