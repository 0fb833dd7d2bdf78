import * as oauth from 'oauth4webapi'
import { type Clock, epochSeconds } from '../clock.ts'
import type { TokenSubject } from '../oauth/access-token.ts'
import { type GitHubTeam, listAll, orgMemberships, primaryEmail } from './github-api.ts'
import {
  type Upstream,
  UpstreamCodeRejected,
  UpstreamDenied,
  UpstreamFailure,
  type UpstreamGrant,
  UpstreamGrantRevoked,
  type UpstreamUser,
} from './upstream.ts'

export interface GitHubSettings {
  readonly clientId: string
  readonly clientSecret: string
  /** `https://github.com` or a GitHub Enterprise Server host. */
  readonly baseUrl: string
  /** `https://api.github.com` or `https://HOST/api/v3`. */
  readonly apiUrl: string
  /** Organisations whose membership matters to some policy (checked at every sign-in). */
  readonly orgs: readonly string[]
  /** Teams (`org/team-slug`, lower-cased) whose membership the allow-list asks about. */
  readonly teams: readonly string[]
  /** Scopes asked beyond the gateway's own, for services acting as the user (`GITHUB_EXTRA_SCOPES`). */
  readonly extraScopes?: readonly string[]
}

/**
 * Token errors that mean the code itself is bad (wrong, expired, used): GitHub's own
 * `bad_verification_code` and the standard `invalid_grant`. Anything else (a wrong client secret,
 * a redirect URI mismatch) is our configuration's fault and stays an upstream failure.
 */
const REJECTED_CODE = new Set(['bad_verification_code', 'invalid_grant'])
/** Refresh errors that mean the refresh token is dead (expired, used, revoked). */
const REJECTED_REFRESH = new Set(['bad_refresh_token', 'invalid_grant'])

const API_HEADERS = {
  Accept: 'application/vnd.github+json',
  'X-GitHub-Api-Version': '2022-11-28',
  // GitHub rejects REST calls without a User-Agent.
  'User-Agent': 'mcp-oauth-gateway',
}

/**
 * GitHub (an OAuth App) as upstream, through oauth4webapi. GitHub has no discovery document, so
 * its endpoints are built from the configured hosts, and it reports token errors with HTTP 200,
 * which `githubFetch` turns into the 400 the library expects.
 */
export function githubUpstream(
  settings: GitHubSettings,
  clock: Clock,
  fetchImpl: typeof fetch = fetch
): Upstream {
  const as: oauth.AuthorizationServer = {
    issuer: settings.baseUrl,
    authorization_endpoint: `${settings.baseUrl}/login/oauth/authorize`,
    token_endpoint: `${settings.baseUrl}/login/oauth/access_token`,
  }
  const client: oauth.Client = { client_id: settings.clientId }
  const clientAuth = oauth.ClientSecretPost(settings.clientSecret)
  const options = {
    [oauth.customFetch]: githubFetch(fetchImpl),
    // http only reaches a GitHub stand-in on a private address; the configuration refuses it in production.
    [oauth.allowInsecureRequests]: settings.baseUrl.startsWith('http:'),
  }
  // read:org: organisation and team memberships, for the allow-lists and for the bridges'
  // policies (which the authorization server cannot see), so always.
  const scope = [
    ...new Set(['read:user', 'user:email', 'read:org', ...(settings.extraScopes ?? [])]),
  ].join(' ')

  const api = async (path: string, token: string): Promise<Response> => {
    try {
      return await fetchImpl(`${settings.apiUrl}${path}`, {
        headers: { ...API_HEADERS, Authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(10_000),
      })
    } catch (cause) {
      throw new UpstreamFailure(`GitHub API ${path} could not be reached`, { cause })
    }
  }

  const readSubject = async (token: string): Promise<UpstreamUser> => {
    const userResponse = await api('/user', token)
    if (userResponse.status === 401)
      throw new UpstreamGrantRevoked('GitHub no longer accepts the token')
    if (!userResponse.ok) throw new UpstreamFailure(`GitHub /user answered ${userResponse.status}`)
    const user = (await userResponse.json()) as {
      id: number
      login: string
      name: string | null
      email: string | null
    }
    const [email, configuredOrgs, organizations, teams] = await Promise.all([
      user.email ?? primaryEmail(api, token),
      orgMemberships(api, token, settings.orgs),
      listAll<{ id: number; login: string }>(api, token, '/user/orgs'),
      listAll<GitHubTeam>(api, token, '/user/teams'),
    ])
    const orgs = configuredOrgs.map((membership) => membership.configured)
    const listedTeams = teams
      .map((team) => `${team.organization.login}/${team.slug}`.toLowerCase())
      .filter((team) => settings.teams.includes(team))
    const subject: TokenSubject = {
      id: String(user.id),
      login: user.login,
      ...(user.name ? { name: user.name } : {}),
      ...(email ? { email } : {}),
      ...(orgs.length > 0 ? { orgs } : {}),
      ...(listedTeams.length > 0 ? { teams: listedTeams } : {}),
    }
    return {
      subject,
      memberships: {
        organizations: organizations.map(({ id, login }) => ({ id, login })),
        teams: teams.map(({ id, slug, organization }) => ({
          id,
          slug,
          organization: { id: organization.id, login: organization.login },
        })),
      },
    }
  }

  return {
    authorizationUrl({ state, codeChallenge, redirectUri }) {
      const url = new URL(as.authorization_endpoint as string)
      url.search = new URLSearchParams({
        client_id: settings.clientId,
        redirect_uri: redirectUri,
        scope,
        state,
        code_challenge: codeChallenge,
        code_challenge_method: 'S256',
      }).toString()
      return url
    },

    async completeLogin({ callbackUrl, expectedState, codeVerifier, redirectUri }) {
      let params: URLSearchParams
      try {
        params = oauth.validateAuthResponse(as, client, callbackUrl, expectedState)
      } catch (cause) {
        if (cause instanceof oauth.AuthorizationResponseError) {
          throw new UpstreamDenied(`GitHub refused the sign-in: ${cause.error}`, { cause })
        }
        throw new UpstreamFailure('GitHub sent an invalid callback', { cause })
      }
      // GitHub always sends exactly one: anything else was made up by whoever sent the browser.
      if (params.getAll('code').length !== 1 || !params.get('code')) {
        throw new UpstreamCodeRejected('the callback carries no single code')
      }
      let tokens: oauth.TokenEndpointResponse
      try {
        const response = await oauth.authorizationCodeGrantRequest(
          as,
          client,
          clientAuth,
          params,
          redirectUri,
          codeVerifier,
          options
        )
        tokens = await oauth.processAuthorizationCodeResponse(as, client, response)
      } catch (cause) {
        if (cause instanceof oauth.ResponseBodyError && REJECTED_CODE.has(cause.error)) {
          throw new UpstreamCodeRejected(`GitHub refused the code: ${cause.error}`, { cause })
        }
        throw new UpstreamFailure('GitHub did not exchange the code', { cause })
      }
      const grant = grantFrom(tokens)
      return { ...(await readSubject(tokens.access_token)), grant }
    },

    currentSubject: (grant) => readSubject(grant.accessToken),

    async refreshGrant(grant) {
      if (!grant.refreshToken) throw new UpstreamGrantRevoked('the GitHub token cannot be renewed')
      try {
        const response = await oauth.refreshTokenGrantRequest(
          as,
          client,
          clientAuth,
          grant.refreshToken,
          options
        )
        return grantFrom(await oauth.processRefreshTokenResponse(as, client, response))
      } catch (cause) {
        if (cause instanceof oauth.ResponseBodyError && REJECTED_REFRESH.has(cause.error)) {
          throw new UpstreamGrantRevoked(`GitHub refused the refresh token: ${cause.error}`, {
            cause,
          })
        }
        throw new UpstreamFailure('GitHub did not renew the token', { cause })
      }
    },
  }

  function grantFrom(tokens: oauth.TokenEndpointResponse): UpstreamGrant {
    return {
      accessToken: tokens.access_token,
      ...(tokens.refresh_token ? { refreshToken: tokens.refresh_token } : {}),
      ...(tokens.expires_in ? { expiresAt: epochSeconds(clock) + tokens.expires_in } : {}),
    }
  }
}

/** GitHub answers token errors with 200 and an `error` member; make them the 400 RFC 6749 says. */
function githubFetch(fetchImpl: typeof fetch): typeof fetch {
  return async (input, init) => {
    const response = await fetchImpl(input, { ...init, signal: AbortSignal.timeout(10_000) })
    if (response.status !== 200 || !response.headers.get('content-type')?.includes('json'))
      return response
    const body = await response.text()
    const parsed = safeJson(body)
    const status = parsed && typeof parsed === 'object' && 'error' in parsed ? 400 : 200
    return new Response(body, { status, headers: response.headers })
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}
