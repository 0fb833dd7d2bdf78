import { Hono } from 'hono'
import { z } from 'zod'
import { authenticateClient } from '../clients/client-authentication.ts'
import { clientLookup } from '../clients/client-lookup.ts'
import { epochSeconds } from '../clock.ts'
import type { AuthDeps } from '../deps.ts'
import { InvalidClient } from '../errors.ts'
import { readFormBody } from '../http/body.ts'
import { callerAddress } from '../http/caller.ts'
import { optionalParam, parseParams, requiredParam } from '../http/params.ts'
import { isFamilyRevoked } from '../oauth/revocation.ts'
import { gatewayAllowList, isAllowed } from '../policy/allow-list.ts'
import { keys } from '../store/keys.ts'
import { findClientToken } from '../tokens/token-lookup.ts'
import { createAccessTokenVerifier } from '../verify/token-verifier.ts'

/** RFC 7009 §2.1 / RFC 7662 §2.1 parameters. */
const tokenParams = z.object({ token: requiredParam(8192), token_type_hint: optionalParam(64) })

/**
 * `POST /introspect` (RFC 7662) for confidential clients, about their own tokens. Anything else
 * (unknown, expired, revoked, another client's) is `{"active": false}`.
 */
export const introspectRoute = (deps: AuthDeps) => {
  const { config, store, clock } = deps
  const registry = clientLookup(deps)
  // Asks the store about revocation every time: `/verify` may believe "not revoked" for a second,
  // but the server that has just confirmed a revocation (RFC 7009) must not call the token active.
  const verifier = createAccessTokenVerifier(deps, { maxCachedTokens: 1_000, revocationCacheMs: 0 })
  const headers = { 'Cache-Control': 'no-store', Pragma: 'no-cache' }
  const allowList = gatewayAllowList(config)

  return new Hono().post('/introspect', async (c) => {
    const { form } = await readFormBody(c)
    const client = await authenticateClient(registry, {
      authorizationHeader: c.req.header('authorization'),
      form,
      caller: callerAddress(c, config.trustProxy),
    })
    // RFC 7662 §4: introspection must not become an oracle for unauthenticated (public) callers.
    if (client.client_secret_hash === undefined) {
      throw new InvalidClient('introspection is for confidential clients', {
        reason: 'public_client',
      })
    }
    const { token, token_type_hint: hint } = parseParams(tokenParams, form)
    const found = await findClientToken(store, verifier, client, token, hint, {
      clock,
      seconds: config.refreshTokenReuseGrace,
    })
    if (found?.kind === 'access_token' && !(await verifier.isRevoked(found.token))) {
      const token = found.token
      return c.json(
        {
          active: true,
          token_type: 'Bearer',
          scope: token.scope,
          client_id: token.clientId,
          username: token.login,
          sub: token.userId,
          aud: token.audience,
          iss: config.issuer,
          exp: token.expiresAt,
          jti: token.jti,
        },
        200,
        headers
      )
    }
    // A family revoked while it was being written is still stored, and refused by its marker; a
    // user the allow-list no longer admits is refused at the next refresh (RFC 7662 §2.2).
    const liveToken = found?.kind === 'refresh_token' ? found.family.currentTokenHash : undefined
    if (
      found?.kind === 'refresh_token' &&
      liveToken !== undefined &&
      isAllowed(found.family.subject, allowList) &&
      !(await isFamilyRevoked(store, found.family.familyId))
    ) {
      const family = found.family
      const ttl = await store.ttl(keys.refreshToken(liveToken))
      return c.json(
        {
          // No token_type: RFC 7662 §2.2 takes it from the access token types (RFC 6749 §7.1);
          // `refresh_token` is a hint's value (RFC 7009), and a refresh token has no type.
          active: true,
          scope: family.scopes.join(' '),
          client_id: family.clientId,
          username: family.subject.login,
          sub: family.subject.id,
          aud: family.resources,
          iss: config.issuer,
          ...(ttl ? { exp: epochSeconds(clock) + ttl } : {}),
        },
        200,
        headers
      )
    }
    return c.json({ active: false }, 200, headers)
  })
}
