import { Hono } from 'hono'
import { z } from 'zod'
import { authenticateClient } from '../clients/client-authentication.ts'
import type { GrantType } from '../clients/client-metadata.ts'
import { DEVICE_CODE_GRANT } from '../clients/client-metadata.ts'
import type { AuthDeps } from '../deps.ts'
import { UnauthorizedClient, UnsupportedGrantType } from '../errors.ts'
import { readFormBody } from '../http/body.ts'
import { publicCors } from '../http/cors.ts'
import { parseParams, requiredParam } from '../http/params.ts'
import { authorizationCodeGrant } from '../tokens/grants/authorization-code-grant.ts'
import { deviceCodeGrant } from '../tokens/grants/device-code-grant.ts'
import { refreshTokenGrant } from '../tokens/grants/refresh-token-grant.ts'

const tokenRequest = z.object({ grant_type: requiredParam(200) })

const grants = {
  authorization_code: authorizationCodeGrant,
  refresh_token: refreshTokenGrant,
  [DEVICE_CODE_GRANT]: deviceCodeGrant,
} as const satisfies Partial<Record<GrantType, unknown>>

/**
 * `POST /token` (OAuth 2.1 §3.2): authenticates the client first (401 `invalid_client` makes MCP
 * clients register again), then hands over to the grant. Responses are never cached.
 */
export const tokenRoute = (deps: AuthDeps) => {
  const registry = { store: deps.store, clock: deps.clock, clientLifetime: deps.config.ttl.client }
  return new Hono().use('/token', publicCors()).post('/token', async (c) => {
    const { form, params } = await readFormBody(c, { repeatable: ['resource'] })
    const client = await authenticateClient(registry, {
      authorizationHeader: c.req.header('authorization'),
      form,
    })
    const { grant_type: grantType } = parseParams(tokenRequest, form)
    if (!Object.hasOwn(grants, grantType))
      throw new UnsupportedGrantType(`${grantType} is not supported`)
    const name = grantType as keyof typeof grants
    if (!client.metadata.grant_types.includes(name)) {
      throw new UnauthorizedClient(`this client is not registered for the ${name} grant`)
    }
    const response = await grants[name](deps, client, form, params.getAll('resource'))
    return c.json(response, 200, { 'Cache-Control': 'no-store', Pragma: 'no-cache' })
  })
}
