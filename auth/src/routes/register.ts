import { Hono } from 'hono'
import { MAX_REGISTRATION_BODY_BYTES, parseClientMetadata } from '../clients/client-metadata.ts'
import { clientInformation, registerClient } from '../clients/client-registry.ts'
import type { AuthDeps } from '../deps.ts'
import { AccessDenied } from '../errors.ts'
import { readJsonBody } from '../http/body.ts'
import { publicCors } from '../http/cors.ts'
import { rateLimit } from '../http/rate-limit.ts'

/**
 * A caller's registration requests an hour, as a multiple of its limit a minute: one caller keeps
 * at most 300 unused registrations alive. What all callers together can keep is bounded by the
 * global limit times the unused lifetime (defaults: 120/min × 1 h = 7,200 registrations of at
 * most 5 KiB, some 40 MB of Redis), well inside the compose Redis's `maxmemory`: a flood of
 * registrations must never fill the store that revocations write to.
 */
const HOURLY_REGISTRATIONS_PER_MINUTE_LIMIT = 10

/**
 * RFC 7591 dynamic client registration. Open to anyone (MCP clients such as Claude register a new
 * client per connection), so it is rate limited per caller address (a minute and an hour) and for
 * all callers together, a body is at most 4 KiB, and a registration nobody uses expires after
 * CLIENT_UNUSED_LIFETIME.
 */
export const registerRoute = (deps: AuthDeps) => {
  const { config, store, clock, audit } = deps
  // DYNAMIC_CLIENT_REGISTRATION=false: not advertised either, but clients that miss discovery
  // (claude.ai among them) try /register anyway and must learn why it fails.
  if (!config.dynamicClientRegistration) {
    // Point to the other way in only when there is one.
    const instead = config.clientIdMetadataDocuments.enabled
      ? ': identify the application with a client ID metadata document (an https client_id)'
      : ', and so are client ID metadata documents: this gateway accepts no new applications'
    return new Hono().use('/register', publicCors()).post('/register', () => {
      throw new AccessDenied(
        `dynamic client registration is turned off on this gateway${instead}`,
        {
          reason: 'registration_disabled',
        }
      )
    })
  }
  const registry = {
    store,
    clock,
    clientLifetime: config.ttl.client,
    clientUnusedLifetime: config.ttl.unusedClient,
  }
  return new Hono().use('/register', publicCors()).post(
    '/register',
    rateLimit({
      store,
      clock,
      bucket: 'register-hour',
      limit: config.registrationRateLimit * HOURLY_REGISTRATIONS_PER_MINUTE_LIMIT,
      windowSeconds: 3600,
      trustProxy: config.trustProxy,
      description: 'too many registrations this hour, retry later',
    }),
    rateLimit({
      store,
      clock,
      bucket: 'register',
      limit: config.registrationRateLimit,
      globalLimit: config.registrationGlobalRateLimit,
      windowSeconds: 60,
      trustProxy: config.trustProxy,
      description: 'too many registrations, retry later',
    }),
    async (c) => {
      const metadata = parseClientMetadata(await readJsonBody(c, MAX_REGISTRATION_BODY_BYTES))
      const { client, credentials } = await registerClient(registry, metadata)
      await audit.record({
        event: 'client.registered',
        client,
        redirect_uris: metadata.redirect_uris,
        grant_types: metadata.grant_types,
        token_endpoint_auth_method: metadata.token_endpoint_auth_method,
      })
      const uri = `${config.issuer}/register/${client.client_id}`
      return c.json(clientInformation(client, uri, credentials), 201, {
        'Cache-Control': 'no-store',
        Pragma: 'no-cache',
        Location: uri,
      })
    }
  )
}
