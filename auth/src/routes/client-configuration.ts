import { type Context, Hono } from 'hono'
import { z } from 'zod'
import { deleteClient } from '../admin/client-deletion.ts'
import { MAX_REGISTRATION_BODY_BYTES, parseClientMetadata } from '../clients/client-metadata.ts'
import {
  authorizeClientManagement,
  clientInformation,
  updateClient,
} from '../clients/client-registry.ts'
import type { AuthDeps } from '../deps.ts'
import { InvalidClientMetadata, InvalidRequest, MissingToken } from '../errors.ts'
import { readJsonBody } from '../http/body.ts'
import { publicCors } from '../http/cors.ts'
import { tokenLifetimes } from '../oauth/revocation.ts'
import { secretMatches } from '../oauth/secrets.ts'

/** RFC 7592 §2.2: an update names the client and may repeat its secret, which must then match. */
const updateIdentity = z.object({
  client_id: z.string(),
  client_secret: z.string().optional(),
})

/**
 * RFC 7592 client configuration endpoint: read, replace or delete a registration with its
 * registration access token as bearer token. Answers carry that token back (§3 requires it in
 * the client information response): only its hash is stored, and it is not rotated.
 */
export const clientConfigurationRoute = (deps: AuthDeps) => {
  const { config, store, clock, audit } = deps
  const registry = { store, clock, clientLifetime: config.ttl.client }
  const managed = async (c: Context) => {
    const registrationAccessToken = bearerToken(c)
    const client = await authorizeClientManagement(
      registry,
      c.req.param('client_id') ?? '',
      registrationAccessToken
    )
    return { client, registrationAccessToken }
  }
  const noStore = { 'Cache-Control': 'no-store', Pragma: 'no-cache' }
  const uriOf = (clientId: string) => `${config.issuer}/register/${clientId}`

  return new Hono()
    .use('/register/:client_id', publicCors())
    .get('/register/:client_id', async (c) => {
      const { client, registrationAccessToken } = await managed(c)
      return c.json(
        clientInformation(client, uriOf(client.client_id), { registrationAccessToken }),
        200,
        noStore
      )
    })
    .put('/register/:client_id', async (c) => {
      const { client, registrationAccessToken } = await managed(c)
      const body = await readJsonBody(c, MAX_REGISTRATION_BODY_BYTES)
      const identity = updateIdentity.safeParse(body)
      if (!identity.success || identity.data.client_id !== client.client_id) {
        throw new InvalidClientMetadata('client_id must be present and name this client')
      }
      const { client_secret: presentedSecret } = identity.data
      if (
        presentedSecret !== undefined &&
        !(client.client_secret_hash && secretMatches(presentedSecret, client.client_secret_hash))
      ) {
        throw new InvalidClientMetadata('client_secret does not match this client')
      }
      const {
        client_id: _id,
        client_secret: _secret,
        ...metadata
      } = body as Record<string, unknown>
      const updated = await updateClient(registry, client, parseClientMetadata(metadata))
      await audit.record({
        event: 'client.updated',
        client: updated.client,
        redirect_uris: updated.client.metadata.redirect_uris,
      })
      return c.json(
        clientInformation(updated.client, uriOf(client.client_id), {
          ...updated.credentials,
          registrationAccessToken,
        }),
        200,
        noStore
      )
    })
    .delete('/register/:client_id', async (c) => {
      const { client } = await managed(c)
      await deleteClient(
        { store, lifetimes: tokenLifetimes(config), audit },
        client.client_id,
        'client'
      )
      return c.body(null, 204)
    })
}

/**
 * The bearer token of the `Authorization` header (RFC 6750 §2.1). Without the header, the 401's
 * challenge names no error code (§3.1).
 */
function bearerToken(c: Context): string {
  const header = c.req.header('authorization')
  if (header === undefined) {
    throw new MissingToken('a registration access token is required', { reason: 'no_token' })
  }
  const token = /^Bearer +([\w.~+/-]+=*)$/i.exec(header)?.[1]
  if (!token)
    throw new InvalidRequest('the Authorization header must be of the form Bearer <token>')
  return token
}
