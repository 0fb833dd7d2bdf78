import type { Clock } from '../clock.ts'
import type { Config } from '../config.ts'
import type { Store } from '../store/store.ts'
import { coalesceSubjectChecks } from './coalesced-checks.ts'
import { developmentLogin } from './development-login.ts'
import { githubUpstream } from './github.ts'
import { type RecentChecks, recentChecks } from './recent-checks.ts'
import type { Upstream } from './upstream.ts'
import { type UpstreamGrants, upstreamGrants } from './upstream-grants.ts'

/** Where users sign in (GitHub), and where their upstream grants are kept. */
export interface ConfiguredUpstream {
  readonly provider: Upstream
  readonly grants: UpstreamGrants
  /** Users let in by a re-check lately (`USER_RECHECK_INTERVAL`), believed by refreshes. */
  readonly recentChecks: RecentChecks
  readonly name: string
  /** The provider is the development sign-in, whose page the gateway serves itself. */
  readonly developmentSignIn?: boolean
  /**
   * Whether the kept grants hold the provider's real tokens (GitHub), which the internal API
   * hands to a bridge acting as the user; absent for the development sign-in.
   */
  readonly providerTokens?: boolean
}

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
): ConfiguredUpstream | undefined {
  const { clientId, clientSecret, baseUrl, apiUrl } = config.github
  if (!clientId || !clientSecret) {
    if (!config.developmentSignIn) return undefined
    return {
      name: 'the development sign-in',
      provider: coalesceSubjectChecks(developmentLogin(store, config.issuer)),
      grants: upstreamGrants(store, 'development'),
      recentChecks: recentChecks(store, clock),
      developmentSignIn: true,
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
