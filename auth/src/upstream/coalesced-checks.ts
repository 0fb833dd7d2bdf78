import type { Upstream, UpstreamUser } from './upstream.ts'

/**
 * Concurrent re-checks of one user share one round trip to the provider: parallel sessions of a
 * client refresh at the same moment (a thousand tool calls on an expired token), and each refresh
 * reads the user again. Only calls in flight are shared; the next refresh asks afresh. Keyed by
 * the kept grant (one per user), so two users never share an answer.
 */
export function coalesceSubjectChecks(upstream: Upstream): Upstream {
  const inFlight = new Map<string, Promise<UpstreamUser>>()
  return {
    authorizationUrl: (request) => upstream.authorizationUrl(request),
    completeLogin: (callback) => upstream.completeLogin(callback),
    currentSubject(grant) {
      let check = inFlight.get(grant.accessToken)
      if (!check) {
        check = upstream.currentSubject(grant).finally(() => inFlight.delete(grant.accessToken))
        inFlight.set(grant.accessToken, check)
      }
      return check
    },
    ...(upstream.refreshGrant ? { refreshGrant: upstream.refreshGrant.bind(upstream) } : {}),
  }
}
