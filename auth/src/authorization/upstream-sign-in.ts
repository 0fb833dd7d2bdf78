import { createHash } from 'node:crypto'
import type { Context } from 'hono'
import type { AuthDeps } from '../deps.ts'
import { cookies } from '../http/cookies.ts'
import { newSecret } from '../oauth/secrets.ts'
import { anonymousWriteLimit } from './anonymous-writes.ts'
import {
  PENDING_AUTHORIZATION_TTL_SECONDS,
  type SignInContinuation,
  savePendingAuthorization,
} from './pending-authorization.ts'

/**
 * Sends the browser to the identity provider after consent. The pending request is bound to this
 * browser by a cookie: the callback refuses a `state` it did not start here (login CSRF). Nobody
 * is signed in yet, so how many pending requests a caller can leave behind is limited.
 */
export async function redirectToUpstream(
  c: Context,
  deps: AuthDeps & { upstream: NonNullable<AuthDeps['upstream']> },
  continuation: SignInContinuation
): Promise<Response> {
  await anonymousWriteLimit(deps, 'pendingAuthorization')(c)
  const upstreamCodeVerifier = newSecret()
  const state = await savePendingAuthorization(deps.store, {
    ...continuation,
    upstreamCodeVerifier,
  })
  cookies(deps.config.issuer).set(c, 'pending', state, PENDING_AUTHORIZATION_TTL_SECONDS)
  const url = deps.upstream.provider.authorizationUrl({
    state,
    codeChallenge: createHash('sha256').update(upstreamCodeVerifier).digest('base64url'),
    redirectUri: `${deps.config.issuer}/callback`,
  })
  return c.body(null, 302, { Location: url.href, 'Cache-Control': 'no-store' })
}

export function hasUpstream(
  deps: AuthDeps
): deps is AuthDeps & { upstream: NonNullable<AuthDeps['upstream']> } {
  return deps.upstream !== undefined
}
