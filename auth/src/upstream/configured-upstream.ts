import type { Clock } from '../clock.ts'
import type { Config } from '../config.ts'
import type { AuthDeps } from '../deps.ts'
import type { Store } from '../store/store.ts'
import { githubUpstream } from './github.ts'
import { upstreamGrants } from './upstream-grants.ts'

/** The identity provider the configuration names: GitHub when its OAuth App is configured. */
export function configuredUpstream(
  config: Config,
  store: Store,
  clock: Clock,
  fetchImpl: typeof fetch = fetch
): AuthDeps['upstream'] {
  const { clientId, clientSecret, baseUrl, apiUrl } = config.github
  if (!clientId || !clientSecret) return undefined
  const orgs = [
    ...new Set([...config.allowedOrgs, ...config.protectedResources.flatMap((r) => r.allowedOrgs)]),
  ]
  return {
    name: 'GitHub',
    provider: githubUpstream({ clientId, clientSecret, baseUrl, apiUrl, orgs }, clock, fetchImpl),
    grants: upstreamGrants(store, clientSecret),
  }
}
