/**
 * The few GitHub REST calls the `github` service makes, with the signed-in user's own token. The
 * token and the API root come from the child's environment (never its arguments, which `ps`
 * shows); nothing here writes either anywhere.
 */
export interface GitHubApi {
  get(path: string): Promise<GitHubAnswer>
  post(path: string, body: unknown): Promise<GitHubAnswer>
}

export type GitHubAnswer =
  | { readonly ok: true; readonly body: unknown }
  | { readonly ok: false; readonly status: number; readonly message: string }

/** GitHub no longer accepts the token (revoked, expired or replaced by a refresh). */
export class TokenRejectedError extends Error {}

const HEADERS = {
  Accept: 'application/vnd.github+json',
  'X-GitHub-Api-Version': '2022-11-28',
  // GitHub refuses REST calls without a User-Agent.
  'User-Agent': 'mcp-oauth-gateway-github-service',
}

export function gitHubApi(
  apiUrl: string,
  token: string,
  fetchImpl: typeof fetch = fetch
): GitHubApi {
  const root = apiUrl.replace(/\/+$/, '')
  const call = async (method: string, path: string, body?: unknown): Promise<GitHubAnswer> => {
    const response = await fetchImpl(`${root}${path}`, {
      method,
      headers: {
        ...HEADERS,
        Authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      redirect: 'error',
      signal: AbortSignal.timeout(15_000),
    })
    if (response.status === 401) throw new TokenRejectedError('GitHub rejected the token')
    const text = await response.text()
    const parsed = parseJson(text)
    if (response.ok) return { ok: true, body: parsed }
    return { ok: false, status: response.status, message: messageOf(parsed, response.statusText) }
  }
  return {
    get: (path) => call('GET', path),
    post: (path, body) => call('POST', path, body),
  }
}

/** `/repos/{owner}/{repo}` with each segment escaped, so a name cannot reach another path. */
export function repoPath(owner: string, repo: string): string {
  return `/repos/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}`
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

function messageOf(body: unknown, fallback: string): string {
  if (body && typeof body === 'object' && 'message' in body) {
    const { message } = body as { message: unknown }
    if (typeof message === 'string') return message
  }
  return fallback
}
