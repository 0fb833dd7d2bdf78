import { Hono } from 'hono'
import { z } from 'zod'
import { authenticateClient } from '../clients/client-authentication.ts'
import { clientLookup } from '../clients/client-lookup.ts'
import type { AuthDeps } from '../deps.ts'
import { readFormBody } from '../http/body.ts'
import { callerAddress } from '../http/caller.ts'
import { publicCors } from '../http/cors.ts'
import { optionalParam, parseParams, requiredParam } from '../http/params.ts'
import { revokeAccessToken, tokenLifetimes } from '../oauth/revocation.ts'
import { revokeRefreshFamily } from '../tokens/family-revocation.ts'
import { findClientToken } from '../tokens/token-lookup.ts'
import { createAccessTokenVerifier } from '../verify/token-verifier.ts'

/** RFC 7009 §2.1 / RFC 7662 §2.1 parameters. */
const tokenParams = z.object({ token: requiredParam(8192), token_type_hint: optionalParam(64) })

/**
 * `POST /revoke` (RFC 7009). A refresh token takes its whole family with it (the access tokens
 * minted from it stop working at /verify); an access token is revoked alone. Unknown or foreign
 * tokens get the same 200, so the endpoint reveals nothing.
 */
export const revokeRoute = (deps: AuthDeps) => {
  const { config, store, clock, audit } = deps
  const registry = clientLookup(deps)
  const verifier = createAccessTokenVerifier(deps, { maxCachedTokens: 1_000, ofAnyUser: true })
  const lifetimes = tokenLifetimes(config)

  return new Hono().use('/revoke', publicCors()).post('/revoke', async (c) => {
    const { form } = await readFormBody(c)
    const client = await authenticateClient(registry, {
      authorizationHeader: c.req.header('authorization'),
      form,
      caller: callerAddress(c, config.trustProxy),
    })
    const { token, token_type_hint: hint } = parseParams(tokenParams, form)
    const found = await findClientToken(store, verifier, client, token, hint, {
      clock,
      seconds: config.refreshTokenReuseGrace,
    })
    if (found?.kind === 'refresh_token') {
      const { revokedNow } = await revokeRefreshFamily(store, found.family.familyId, lifetimes)
      // A repeated or parallel revocation changed nothing: it is answered alike, not audited.
      if (revokedNow) {
        await audit.record({
          event: 'token.revoked',
          user: found.family.subject,
          client,
          by: 'client',
          token_type: 'refresh_token',
          family_id: found.family.familyId,
        })
      }
    } else if (found?.kind === 'access_token') {
      const revokedNow = await revokeAccessToken(
        store,
        clock,
        found.token.jti,
        found.token.expiresAt
      )
      if (revokedNow) {
        await audit.record({
          event: 'token.revoked',
          user: { id: found.token.userId, login: found.token.login },
          client,
          by: 'client',
          token_type: 'access_token',
          family_id: found.token.familyId,
          jti: found.token.jti,
        })
      }
    }
    return c.body(null, 200, { 'Cache-Control': 'no-store' })
  })
}
