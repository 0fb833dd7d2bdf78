import { createHash } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Context } from 'hono'
import { Hono } from 'hono'
import { repoRoutes } from './repo-routes.ts'
import { hasScope } from './scopes.ts'
import type { FakeGitHubState } from './state.ts'
import type { FakeGitHubToken } from './tokens.ts'
import type { FakeGitHubUser } from './users.ts'

const DOCS = 'https://docs.github.com/rest'
const API_VERSIONS = new Set(['2022-11-28', '2026-03-10'])
const USER_AGENT_REQUIRED =
  'Request forbidden by administrative rules. Please make sure your request has a User-Agent header (https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required). Check https://developer.github.com for other possible causes.\n'

type Caller = { token: FakeGitHubToken; user: FakeGitHubUser }

/** GitHub's REST API as far as a gateway uses it, mounted at `prefix` ('' or '/api/v3'). */
export function apiRoutes(state: FakeGitHubState, prefix: string, apiUrl: () => string): Hono {
  const app = prefix ? new Hono().basePath(prefix) : new Hono()

  // GitHub answers in tens to hundreds of milliseconds; a test that needs a request to be in
  // flight while something else happens sets how long.
  app.use('*', async (_c, next) => {
    if (state.latencyMs > 0) await sleep(state.latencyMs)
    await next()
  })

  app.use('*', async (c, next) => {
    if (!c.req.header('user-agent')) {
      return c.body(USER_AGENT_REQUIRED, 403, { 'content-type': 'text/plain; charset=utf-8' })
    }
    const version = c.req.header('x-github-api-version')
    if (version !== undefined && !API_VERSIONS.has(version)) {
      return json(c, 400, message(`API version '${version}' is not supported.`, 400))
    }
    await next()
    c.header('x-github-api-version-selected', version ?? '2022-11-28')
    c.header('x-github-media-type', 'github.v3; format=json')
    return undefined
  })

  /** Bearer/token auth, rate limit and scope headers; a Response when the call stops here. */
  const authenticate = (c: Context, accepted: string): Caller | Response => {
    const presented = c.req.header('authorization')?.match(/^(?:Bearer|token)\s+(\S+)$/i)?.[1]
    const token = presented === undefined ? null : state.liveToken(presented)
    if (accepted) c.header('x-accepted-oauth-scopes', accepted)
    if (presented === undefined || !token) {
      setHeaders(c, state.countApiCall('unauthenticated', 60))
      return presented === undefined
        ? json(c, 401, message('Requires authentication', 401))
        : json(c, 401, message('Bad credentials', 401))
    }
    const user = state.user(token.login)
    setHeaders(c, state.countApiCall(`user:${user.id}`, 5000))
    c.header('x-oauth-scopes', token.scopes.join(', '))
    const limitedPath = state.rateLimitedPath
    if (state.rateLimited && (limitedPath === null || c.req.path.endsWith(limitedPath))) {
      const status = state.rateLimited
      return json(c, status, message(`API rate limit exceeded for user ID ${user.id}.`, status))
    }
    return { token, user }
  }

  app.get('/user', (c) => {
    const caller = authenticate(c, '')
    return caller instanceof Response ? caller : json(c, 200, userJson(caller.user, apiUrl()))
  })

  app.get('/user/emails', (c) => {
    const caller = authenticate(c, 'user, user:email')
    if (caller instanceof Response) return caller
    if (!hasScope(caller.token.scopes, 'user:email')) return json(c, 404, message('Not Found', 404))
    return json(c, 200, caller.user.emails)
  })

  app.get('/user/memberships/orgs/:org', (c) => {
    const caller = authenticate(c, 'admin:org, read:org, write:org')
    if (caller instanceof Response) return caller
    if (!hasScope(caller.token.scopes, 'read:org')) {
      const text = 'You need at least read:org scope to view your organization memberships.'
      return json(c, 403, message(text, 403))
    }
    const membership = caller.user.orgs.get(c.req.param('org').toLowerCase())
    if (!membership) return json(c, 404, message('Not Found', 404))
    const base = apiUrl()
    return json(c, 200, {
      url: `${base}/orgs/${membership.org}/memberships/${caller.user.login}`,
      state: membership.state,
      role: membership.role,
      organization_url: `${base}/orgs/${membership.org}`,
      organization: orgJson(membership.org, base),
      user: userJson(caller.user, base),
    })
  })

  app.get('/user/orgs', (c) => {
    const caller = authenticate(c, 'admin:org, read:org, user, write:org')
    if (caller instanceof Response) return caller
    const scopes = caller.token.scopes
    if (!hasScope(scopes, 'read:org') && !scopes.includes('user')) {
      return json(c, 403, message('You need at least read:org or user scope.', 403))
    }
    const active = [...caller.user.orgs.values()].filter((m) => m.state === 'active')
    return page(
      c,
      active.map((m) => orgJson(m.org, apiUrl())),
      apiUrl()
    )
  })

  /** The teams the caller is an active member of, across organisations (pending ones are not). */
  app.get('/user/teams', (c) => {
    const caller = authenticate(c, 'admin:org, read:org, repo, user, write:org')
    if (caller instanceof Response) return caller
    const scopes = caller.token.scopes
    if (!hasScope(scopes, 'read:org') && !scopes.includes('user') && !scopes.includes('repo')) {
      return json(c, 403, message('Resource not accessible by integration', 403))
    }
    const active = [...caller.user.teams.values()].filter((t) => t.state === 'active')
    return page(
      c,
      active.map((t) => teamJson(t.org, t.slug, apiUrl())),
      apiUrl()
    )
  })

  /** One user's membership of a team, as a member of the same organisation sees it. */
  app.get('/orgs/:org/teams/:slug/memberships/:username', (c) => {
    const caller = authenticate(c, 'admin:org, read:org, write:org')
    if (caller instanceof Response) return caller
    const org = c.req.param('org')
    const slug = c.req.param('slug').toLowerCase()
    const callerOrg = caller.user.orgs.get(org.toLowerCase())
    if (!hasScope(caller.token.scopes, 'read:org') || callerOrg?.state !== 'active') {
      return json(c, 404, message('Not Found', 404))
    }
    const member = state.users.get(c.req.param('username').toLowerCase())
    const membership = member?.teams.get(`${org}/${slug}`.toLowerCase())
    if (!member || !membership) return json(c, 404, message('Not Found', 404))
    return json(c, 200, {
      url: `${apiUrl()}/teams/${teamId(org, slug)}/memberships/${member.login}`,
      role: membership.role,
      state: membership.state,
    })
  })

  /** The app itself (HTTP Basic client_id:client_secret) checks or revokes a token, or the grant. */
  const appCall = (what: 'check' | 'grant' | 'token') => async (c: Context) => {
    setHeaders(c, state.countApiCall(`app:${state.clientId}`, 5000))
    const basic = c.req.header('authorization')?.match(/^Basic\s+(\S+)$/i)?.[1]
    const expected = Buffer.from(`${state.clientId}:${state.clientSecret}`).toString('base64')
    if (basic !== expected) return json(c, 401, message('Bad credentials', 401))
    if (c.req.param('client_id') !== state.clientId) return json(c, 404, message('Not Found', 404))
    let accessToken: unknown
    try {
      accessToken = (JSON.parse(await c.req.text()) as { access_token?: unknown }).access_token
    } catch {
      return json(c, 400, message('Problems parsing JSON', 400))
    }
    if (typeof accessToken !== 'string') {
      return json(c, 422, message('Invalid request.\n\n"access_token" wasn\'t supplied.', 422))
    }
    const token = state.liveToken(accessToken)
    if (!token) return json(c, 404, message('Not Found', 404))
    if (what === 'check') return json(c, 200, tokenJson(token, state, apiUrl()))
    if (what === 'grant') state.revokeGrant(token.login, 'app')
    else token.revoked = 'app'
    return c.body(null, 204)
  }
  app.post('/applications/:client_id/token', appCall('check'))
  app.delete('/applications/:client_id/token', appCall('token'))
  app.delete('/applications/:client_id/grant', appCall('grant'))
  repoRoutes(app, state.repositories, { authenticate, json, message, apiUrl })
  app.notFound((c) => json(c, 404, message('Not Found', 404)))

  return app
}

/** A list page as GitHub serves it: `per_page` (default 30, at most 100), `page`, `Link`. */
function page(c: Context, items: unknown[], base: string): Response {
  const perPage = Math.min(100, Math.max(1, Number(c.req.query('per_page') ?? 30) || 30))
  const number = Math.max(1, Number(c.req.query('page') ?? 1) || 1)
  const last = Math.max(1, Math.ceil(items.length / perPage))
  if (number < last) {
    const path = new URL(c.req.url).pathname.replace(/^\/api\/v3/, '')
    c.header('link', `<${base}${path}?per_page=${perPage}&page=${number + 1}>; rel="next"`)
  }
  return json(c, 200, items.slice((number - 1) * perPage, number * perPage))
}

function setHeaders(c: Context, headers: Record<string, string>): void {
  for (const [name, value] of Object.entries(headers)) c.header(name, value)
}

function json(c: Context, status: number, body: unknown): Response {
  return c.body(JSON.stringify(body), status as 200, {
    'content-type': 'application/json; charset=utf-8',
  })
}

function message(text: string, status: number) {
  return { message: text, documentation_url: DOCS, status: String(status) }
}

/** GitHub's legacy global node id: base64 of `04:User<id>` / `04:Organization<id>`. */
function nodeId(kind: 'User' | 'Organization', id: number): string {
  return Buffer.from(`04:${kind}${id}`).toString('base64')
}

function orgId(org: string): number {
  let hash = 7
  for (const ch of org.toLowerCase()) hash = (hash * 31 + ch.charCodeAt(0)) % 1_000_000
  return 9_000_000 + hash
}

function teamId(org: string, slug: string): number {
  return 8_000_000 + (orgId(`${org}/${slug}`) - 9_000_000)
}

function teamJson(org: string, slug: string, base: string) {
  const id = teamId(org, slug)
  return {
    id,
    node_id: Buffer.from(`04:Team${id}`).toString('base64'),
    url: `${base}/teams/${id}`,
    html_url: `https://github.com/orgs/${org}/teams/${slug}`,
    name: slug,
    slug,
    description: null,
    privacy: 'closed',
    permission: 'pull',
    parent: null,
    organization: orgJson(org, base),
  }
}

function orgJson(org: string, base: string) {
  const id = orgId(org)
  return {
    login: org,
    id,
    node_id: nodeId('Organization', id),
    url: `${base}/orgs/${org}`,
    avatar_url: `https://avatars.githubusercontent.com/u/${id}?v=4`,
    description: null,
  }
}

function userJson(user: FakeGitHubUser, base: string) {
  return {
    login: user.login,
    id: user.id,
    node_id: nodeId('User', user.id),
    avatar_url: `https://avatars.githubusercontent.com/u/${user.id}?v=4`,
    gravatar_id: '',
    url: `${base}/users/${user.login}`,
    html_url: `https://github.com/${user.login}`,
    type: 'User',
    site_admin: false,
    name: user.name,
    company: null,
    blog: '',
    location: null,
    email: user.email,
    bio: null,
    created_at: '2011-01-25T18:44:36Z',
    updated_at: '2026-01-01T00:00:00Z',
  }
}

function tokenJson(token: FakeGitHubToken, state: FakeGitHubState, base: string) {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())
  return {
    token: token.token,
    hashed_token: createHash('sha256').update(token.token).digest('base64'),
    token_last_eight: token.token.slice(-8),
    scopes: token.scopes,
    app: { client_id: state.clientId, name: 'Gateway', url: 'http://127.0.0.1' },
    user: userJson(state.user(token.login), base),
    created_at: iso(token.issuedAt),
    expires_at: iso(token.expiresAt),
  }
}
