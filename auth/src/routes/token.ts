import { Hono } from 'hono'
import { z } from 'zod'
import { authenticateClient } from '../clients/client-authentication.ts'
import { clientLookup, recordUse } from '../clients/client-lookup.ts'
import type { GrantType } from '../clients/client-metadata.ts'
import { DEVICE_CODE_GRANT } from '../clients/client-metadata.ts'
import { ONE_WORD, quoted } from '../clients/quoted-value.ts'
import type { AuthDeps } from '../deps.ts'
import { UnauthorizedClient, UnsupportedGrantType } from '../errors.ts'
import { readFormBody } from '../http/body.ts'
import { callerAddress } from '../http/caller.ts'
import { publicCors } from '../http/cors.ts'
import { parseParams, requiredParam } from '../http/params.ts'
import { requestLimiter } from '../http/rate-limit.ts'
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
 *
 * Limited per caller only, and generously (TOKEN_RATE_LIMIT): clients refresh in parallel, and
 * many users may share one address (an MCP client's servers). A global limit would let anyone
 * stop every refresh; what a request can write needs a live credential anyway.
 */
export const tokenRoute = (deps: AuthDeps) => {
  const { config, store, clock } = deps
  const registry = clientLookup(deps)
  const countRequest = requestLimiter({
    store,
    clock,
    bucket: 'token',
    limit: config.tokenRateLimit,
    windowSeconds: 60,
    trustProxy: config.trustProxy,
    description: 'too many token requests, retry later',
  })
  return new Hono().use('/token', publicCors()).post('/token', async (c) => {
    // The count and the client lookup reach the store together (one round trip), and the count
    // decides the answer first: over the limit, a request is refused whatever it carries. The
    // lookup it ran alongside costs a refused caller one read and a hash; a client ID metadata
    // document it would fetch is limited per caller on its own (metadata-document-clients.ts).
    const counted = countRequest(c)
    const request = readFormBody(c, { repeatable: ['resource'] }).then(async (body) => ({
      ...body,
      client: await authenticateClient(registry, {
        authorizationHeader: c.req.header('authorization'),
        form: body.form,
        caller: callerAddress(c, config.trustProxy),
      }),
    }))
    request.catch(() => {}) // rethrown below, once the count has decided
    await counted
    const { form, params, client } = await request
    const { grant_type: grantType } = parseParams(tokenRequest, form)
    if (!Object.hasOwn(grants, grantType)) {
      throw new UnsupportedGrantType(`grant_type ${quoted(grantType, ONE_WORD)} is not supported`)
    }
    const name = grantType as keyof typeof grants
    if (!client.metadata.grant_types.includes(name)) {
      throw new UnauthorizedClient(`this client is not registered for the ${name} grant`)
    }
    const response = await grants[name](deps, client, form, params.getAll('resource'))
    await recordUse(registry, client.client_id, deps.logger)
    return c.json(response, 200, { 'Cache-Control': 'no-store', Pragma: 'no-cache' })
  })
}
