import { type MembershipOrganization, UpstreamFailure, UpstreamGrantRevoked } from './upstream.ts'

// The GitHub REST reads behind a sign-in or a re-check: the user's e-mail, organisations, teams
// and memberships. A rate limit, or a grant without `read:org`, is told apart from a refusal.

/** A GET on GitHub's REST API with the user's token (`githubUpstream` makes it). */
export type Api = (path: string, token: string) => Promise<Response>

export interface GitHubTeam {
  id: number
  slug: string
  organization: { id: number; login: string }
}

/**
 * GitHub's rate limits answer 403 (or 429) too: with no requests remaining, or a `retry-after`
 * (secondary limits). Such a 403 says nothing about membership, so it must not refuse anyone.
 */
function rateLimited(response: Response): boolean {
  if (response.status !== 403 && response.status !== 429) return false
  return (
    response.status === 429 ||
    response.headers.get('x-ratelimit-remaining') === '0' ||
    response.headers.has('retry-after')
  )
}

/** Pages followed at most: 1,000 organisations or teams are plenty for one person. */
const MAX_PAGES = 10

/**
 * Every item of a user-scoped list (`/user/orgs`, `/user/teams`), following `Link: rel="next"`.
 * A grant without `read:org` (one from before it was asked for) is refused with 403: as far as
 * the app may see, the user is in none.
 */
export async function listAll<T>(api: Api, token: string, path: string): Promise<T[]> {
  const items: T[] = []
  let next: string | undefined = `${path}?per_page=100`
  for (let page = 0; next !== undefined && page < MAX_PAGES; page++) {
    const response = await api(next, token)
    if (response.status === 401)
      throw new UpstreamGrantRevoked('GitHub no longer accepts the token')
    if (rateLimited(response)) throw new UpstreamFailure(`GitHub ${path} is rate-limited`)
    if (response.status === 403 || response.status === 404) {
      await response.body?.cancel()
      return items
    }
    if (!response.ok) throw new UpstreamFailure(`GitHub ${path} answered ${response.status}`)
    items.push(...((await response.json()) as T[]))
    next = nextPage(response.headers.get('link'), path)
  }
  return items
}

/** The path and query of the `rel="next"` link, if it continues the same list. */
function nextPage(link: string | null, path: string): string | undefined {
  const target = link?.match(/<([^>]+)>\s*;\s*rel="next"/)?.[1]
  if (!target) return undefined
  const url = new URL(target)
  const at = url.pathname.lastIndexOf(path)
  return at < 0 ? undefined : `${url.pathname.slice(at)}${url.search}`
}

export async function primaryEmail(api: Api, token: string): Promise<string | undefined> {
  const response = await api('/user/emails', token)
  if (!response.ok) return undefined
  const emails = (await response.json()) as { email: string; primary: boolean; verified: boolean }[]
  return emails.find((e) => e.primary && e.verified)?.email
}

/** The configured organisations the user is an active member of (pending invitations do not count). */
export async function orgMemberships(
  api: Api,
  token: string,
  orgs: readonly string[]
): Promise<{ configured: string; organization: MembershipOrganization }[]> {
  const results = await Promise.all(
    orgs.map(async (org) => {
      const response = await api(`/user/memberships/orgs/${encodeURIComponent(org)}`, token)
      if (response.status === 401)
        throw new UpstreamGrantRevoked('GitHub no longer accepts the token')
      if (rateLimited(response)) throw new UpstreamFailure('GitHub org membership is rate-limited')
      if (response.status === 404 || response.status === 403) return undefined
      if (!response.ok)
        throw new UpstreamFailure(`GitHub org membership answered ${response.status}`)
      const membership = (await response.json()) as {
        state: string
        organization: { id: number; login: string }
      }
      if (membership.state !== 'active') return undefined
      const { id, login } = membership.organization
      // Tokens carry the configured spelling, as policies name it.
      return { configured: org, organization: { id, login } }
    })
  )
  return results.filter((result) => result !== undefined)
}
