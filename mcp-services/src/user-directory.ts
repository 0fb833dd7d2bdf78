/**
 * The gateway's users as a bridge may know them: the identity and memberships the authorization
 * server last checked at GitHub, and the user's own GitHub token for acting as them. Behind a
 * reverse proxy the bridge reads them from the auth server's internal API (`httpUserDirectory`,
 * `AUTH_INTERNAL_URL` + `INTERNAL_API_SECRET`); in standalone mode the auth server passes an
 * in-process implementation. Contract: docs/internal-api.md. Nothing here imports the auth server.
 */
export interface UserDirectory {
  /** The user as last checked at GitHub; undefined when the gateway keeps no live grant for them. */
  user(userId: string): Promise<DirectoryUser | undefined>
  /**
   * The user's own GitHub token (renewed first when it was about to expire); undefined when the
   * gateway keeps none. Never log it.
   */
  githubToken(userId: string): Promise<GitHubToken | undefined>
}

export interface DirectoryOrganization {
  readonly id: number
  readonly login: string
}

export interface DirectoryTeam {
  readonly id: number
  readonly slug: string
  readonly organization: DirectoryOrganization
}

export interface DirectoryUser {
  /** GitHub's numeric user id, as a string (the tokens' `sub`). */
  readonly id: string
  readonly login: string
  /** The organisations the user is an active member of (as far as the app may see them). */
  readonly organizations: readonly DirectoryOrganization[]
  /** The teams the user is a member of (as far as the app may see them). */
  readonly teams: readonly DirectoryTeam[]
  /** When GitHub was last asked (sign-in, refresh, a remembered session's re-check): epoch seconds. */
  readonly checked_at: number
}

export interface GitHubToken {
  readonly access_token: string
  readonly token_type: 'bearer'
  /** Seconds until it expires; absent for GitHub tokens that do not expire. */
  readonly expires_in?: number
}

/** The directory could not answer (unreachable, refused our secret, or failed). */
export class UserDirectoryUnavailable extends Error {
  override readonly name = 'UserDirectoryUnavailable'
}

/** The header and scheme the internal API expects its secret in. */
const internalAuthorization = (secret: string) => `Bearer ${secret}`

/** The auth server's internal API over HTTP (`GET /internal/users/{id}[/github-token]`). */
export function httpUserDirectory(options: {
  /** `AUTH_INTERNAL_URL`, e.g. `http://auth:8001` (no trailing slash needed). */
  readonly url: string
  /** `INTERNAL_API_SECRET`. */
  readonly secret: string
  readonly fetch?: typeof fetch
  readonly timeoutMs?: number
}): UserDirectory {
  const base = options.url.replace(/\/+$/, '')
  const fetchImpl = options.fetch ?? fetch
  const get = async <T>(path: string): Promise<T | undefined> => {
    let response: Response
    try {
      response = await fetchImpl(`${base}${path}`, {
        headers: {
          Authorization: internalAuthorization(options.secret),
          Accept: 'application/json',
        },
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      })
    } catch (cause) {
      throw new UserDirectoryUnavailable(`the auth server's internal API could not be reached`, {
        cause,
      })
    }
    if (response.status === 404) {
      await response.body?.cancel()
      return undefined
    }
    if (!response.ok) {
      await response.body?.cancel()
      throw new UserDirectoryUnavailable(
        `the auth server's internal API answered ${response.status}`
      )
    }
    return (await response.json()) as T
  }
  const userPath = (userId: string) => `/internal/users/${encodeURIComponent(userId)}`
  return {
    user: (userId) => get<DirectoryUser>(userPath(userId)),
    githubToken: (userId) => get<GitHubToken>(`${userPath(userId)}/github-token`),
  }
}
