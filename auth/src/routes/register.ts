import { Hono } from 'hono'
import { parseClientMetadata } from '../clients/client-metadata.ts'
import { clientInformation, registerClient } from '../clients/client-registry.ts'
import type { AuthDeps } from '../deps.ts'
import { readJsonBody } from '../http/body.ts'
import { publicCors } from '../http/cors.ts'
import { rateLimit } from '../http/rate-limit.ts'

/**
 * RFC 7591 dynamic client registration. Open to anyone (MCP clients such as Claude register a new
 * client per connection), so it is rate limited per caller address.
 */
export const registerRoute = (deps: AuthDeps) => {
  const { config, store, clock, logger } = deps
  const registry = { store, clock, clientLifetime: config.ttl.client }
  return new Hono().use('/register', publicCors()).post(
    '/register',
    rateLimit({
      store,
      clock,
      bucket: 'register',
      limit: config.registrationRateLimit,
      windowSeconds: 60,
      trustProxy: config.trustProxy,
    }),
    async (c) => {
      const metadata = parseClientMetadata(await readJsonBody(c))
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
