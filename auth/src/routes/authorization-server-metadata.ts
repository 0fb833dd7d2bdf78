import { type Context, Hono } from 'hono'
import { DEVICE_CODE_GRANT } from '../clients/client-metadata.ts'
import type { Config } from '../config.ts'
import { NotFound } from '../errors.ts'
import { publicCors } from '../http/cors.ts'

/**
 * RFC 8414 authorization server metadata. `issuer` is `AUTH_ISSUER` byte for byte, and only
 * endpoints this server really has are advertised. The same document is served as the OpenID
 * configuration.
 */
function authorizationServerMetadata(config: Config): Record<string, unknown> {
  const url = (path: string) => `${config.issuer}${path}`
  const clientAuthMethods = ['client_secret_basic', 'client_secret_post', 'none']
  return {
    issuer: config.issuer,
    authorization_endpoint: url('/authorize'),
    token_endpoint: url('/token'),
    ...(config.dynamicClientRegistration ? { registration_endpoint: url('/register') } : {}),
    revocation_endpoint: url('/revoke'),
    introspection_endpoint: url('/introspect'),
    device_authorization_endpoint: url('/device_authorization'),
    jwks_uri: url('/jwks'),
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: ['authorization_code', 'refresh_token', DEVICE_CODE_GRANT],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: clientAuthMethods,
    revocation_endpoint_auth_methods_supported: clientAuthMethods,
    introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    // offline_access is advertised here only, never in resource metadata or challenges (MCP spec).
    scopes_supported: [...supportedScopes(config), 'offline_access'],
    authorization_response_iss_parameter_supported: true,
    // MCP 2025-11-25: an https client_id is a metadata document URL. Claude uses it only when
    // `none` is among the token endpoint auth methods, which it always is here.
    ...(config.clientIdMetadataDocuments.enabled
      ? { client_id_metadata_document_supported: true }
      : {}),
  }
}

/**
 * Every scope a protected resource requires (PRM `scopes_supported` lists them per resource) and
 * every scope a tool needs (asked for at step-up).
 */
export function supportedScopes(config: Config): string[] {
  return [
    ...new Set(
      config.protectedResources.flatMap((r) => [...r.service.requiredScopes, ...r.toolScopes])
    ),
  ]
}

/**
 * Where the document is served: the root form, as the issuer has no path (`parseIssuer`). RFC 8414
 * §3.1 inserts an issuer's path after the well-known name, so a path below it names another
 * issuer and is not found (a client that tried the MCP server's path there falls back to the root
 * form on a 404, which keeps CORS so a browser client sees it).
 */
export const authorizationServerMetadataRoute = (config: Config) => {
  const document = JSON.stringify(authorizationServerMetadata(config))
  const send = (c: Context) => c.body(document, 200, jsonHeaders)
  const serve = new Hono()
  for (const name of ['oauth-authorization-server', 'openid-configuration']) {
    const root = `/.well-known/${name}`
    serve.use(root, publicCors()).get(root, send)
    serve.use(`${root}/*`, publicCors()).get(`${root}/*`, () => {
      throw new NotFound('no such endpoint')
    })
  }
  return serve
}

const jsonHeaders = { 'Content-Type': 'application/json', 'Cache-Control': 'public, max-age=300' }
