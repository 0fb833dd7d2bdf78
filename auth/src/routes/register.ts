import { Hono } from 'hono'
import { MAX_REGISTRATION_BODY_BYTES, parseClientMetadata } from '../clients/client-metadata.ts'
import { clientInformation, registerClient } from '../clients/client-registry.ts'
import type { AuthDeps } from '../deps.ts'
import { readJsonBody } from '../http/body.ts'
import { publicCors } from '../http/cors.ts'
import { rateLimit } from '../http/rate-limit.ts'

/**
 * A caller's registration requests an hour, as a multiple of its limit a minute. Unused
 * registrations live a day, so the minute limit alone would let one patient caller keep 43,200 of
 * them (about 400 MB at the 8 KiB maximum); an hour's cap makes that 7,200.
 */
const HOURLY_REGISTRATIONS_PER_MINUTE_LIMIT = 10

/**
 * RFC 7591 dynamic client registration. Open to anyone (MCP clients such as Claude register a new
 * client per connection), so it is rate limited per caller address (a minute and an hour) and for
 * all callers together, a body is at most 8 KiB, and a registration nobody uses expires after
 * CLIENT_UNUSED_LIFETIME.
 */
export const registerRoute = (deps: AuthDeps) => {
  const { config, store, clock, logger } = deps
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
      logger.info({
        event: 'client_registered',
        client_id: client.client_id,
        client_name: metadata.client_name,
        token_endpoint_auth_method: metadata.token_endpoint_auth_method,
        redirect_uris: metadata.redirect_uris,
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
