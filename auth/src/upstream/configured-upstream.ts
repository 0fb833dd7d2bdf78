import type { Clock } from '../clock.ts'
import type { Config } from '../config.ts'
import type { AuthDeps } from '../deps.ts'
import type { Store } from '../store/store.ts'
import { coalesceSubjectChecks } from './coalesced-checks.ts'
import { developmentLogin } from './development-login.ts'
import { githubUpstream } from './github.ts'
import { recentChecks } from './recent-checks.ts'
import { upstreamGrants } from './upstream-grants.ts'

/**
 * The identity provider the configuration names: GitHub when its OAuth App is configured, else
 * the development sign-in where the configuration allows it (`Config.developmentSignIn`), else
 * none: nobody can sign in, and authorization answers `temporarily_unavailable`.
 */
export function configuredUpstream(
  config: Config,
  store: Store,
  clock: Clock,
  fetchImpl: typeof fetch = fetch
): AuthDeps['upstream'] {
  const { clientId, clientSecret, baseUrl, apiUrl } = config.github
  if (!clientId || !clientSecret) {
    if (!config.developmentSignIn) return undefined
    const { provider, routes } = developmentLogin(store, config.issuer, {
      clock,
      trustProxy: config.trustProxy,
    })
    return {
      name: 'the development sign-in',
      provider: coalesceSubjectChecks(provider),
      grants: upstreamGrants(store, 'development'),
      recentChecks: recentChecks(store, clock),
      routes,
    }
  }
  const orgs = [
    ...new Set([...config.allowedOrgs, ...config.protectedResources.flatMap((r) => r.allowedOrgs)]),
  ]
  return {
    name: 'GitHub',
    provider: coalesceSubjectChecks(
      githubUpstream(
        {
          clientId,
          clientSecret,
          baseUrl,
          apiUrl,
          orgs,
          teams: config.allowedTeams,
          extraScopes: config.github.extraScopes,
        },
        clock,
        fetchImpl
      )
    ),
    grants: upstreamGrants(store, clientSecret),
    recentChecks: recentChecks(store, clock),
    providerTokens: true,
  }
}
