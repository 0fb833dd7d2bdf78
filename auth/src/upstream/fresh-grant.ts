import { type Clock, epochSeconds } from '../clock.ts'
import { TemporarilyUnavailable } from '../errors.ts'
import type { ConfiguredUpstream } from './configured-upstream.ts'
import { type UpstreamGrant, UpstreamGrantRevoked } from './upstream.ts'

/** A token expiring sooner than this is renewed first: whoever receives it must be able to use it. */
const RENEW_WITHIN_SECONDS = 300

/**
 * Renewals in flight, per provider and user. GitHub rotates the refresh token on use, so two
 * parallel renewals with the same one would see the second refused (and the grant lost).
 */
const renewals = new WeakMap<object, Map<string, Promise<UpstreamGrant | null>>>()

/**
 * The user's kept upstream grant, renewed at the provider first when its token expires within
 * five minutes. `null` when there is none, or when it expired or its renewal was refused (then it
 * is forgotten: the user signs in again).
 *
 * @throws TemporarilyUnavailable when the provider cannot be reached for the renewal.
 */
export async function freshUpstreamGrant(
  deps: { readonly upstream?: ConfiguredUpstream | undefined; readonly clock: Clock },
  userId: string
): Promise<UpstreamGrant | null> {
  const { upstream, clock } = deps
  if (!upstream) return null
  const grant = await upstream.grants.find(userId)
  if (!grant || !expiresSoon(grant, clock)) return grant
  const { provider, grants } = upstream
  if (!provider.refreshGrant || !grant.refreshToken) return expired(grant, clock) ? null : grant

  let inFlight = renewals.get(provider)
  if (!inFlight) {
    inFlight = new Map()
    renewals.set(provider, inFlight)
  }
  const running = inFlight.get(userId)
  if (running) return running
  const renewal = (async () => {
    try {
      const renewed = await provider.refreshGrant?.(grant)
      if (!renewed) return grant
      return (await grants.renew(userId, renewed)) ? renewed : null
    } catch (error) {
      if (!(error instanceof UpstreamGrantRevoked)) {
        throw new TemporarilyUnavailable(`${upstream.name} could not renew the user's token`, {
          cause: error,
        })
      }
      // Another replica may have renewed it with the same refresh token a moment ago.
      const current = await grants.find(userId)
      if (current && current.accessToken !== grant.accessToken) return current
      await grants.remove(userId)
      return null
    }
  })().finally(() => inFlight.delete(userId))
  inFlight.set(userId, renewal)
  return renewal
}

function expiresSoon(grant: UpstreamGrant, clock: Clock): boolean {
  return (
    grant.expiresAt !== undefined && grant.expiresAt - epochSeconds(clock) < RENEW_WITHIN_SECONDS
  )
}

function expired(grant: UpstreamGrant, clock: Clock): boolean {
  return grant.expiresAt !== undefined && grant.expiresAt <= epochSeconds(clock)
}
