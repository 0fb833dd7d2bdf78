import { randomBytes } from 'node:crypto'
import type { Server } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { createAdaptorServer } from '@hono/node-server'
import { Hono, type MiddlewareHandler } from 'hono'
import { apiRoutes } from './fake-github/api-routes.ts'
import { oauthRoutes } from './fake-github/oauth-routes.ts'
import type { FakeRepository, FakeRepositoryInput } from './fake-github/repositories.ts'
import { normalizeScopes } from './fake-github/scopes.ts'
import { FakeGitHubState } from './fake-github/state.ts'
import type { FakeGitHubToken } from './fake-github/tokens.ts'
import type {
  FakeGitHubUser,
  FakeGitHubUserInput,
  OrgRole,
  OrgState,
  TeamRole,
  TeamState,
} from './fake-github/users.ts'

export type {
  FakeIssue,
  FakeRepository,
  FakeRepositoryInput,
} from './fake-github/repositories.ts'
export type { FakeGitHubToken, RevokeReason } from './fake-github/tokens.ts'
export { CODE_TTL_MS, TOKENS_PER_SCOPE_SET } from './fake-github/tokens.ts'
export type {
  FakeGitHubEmail,
  FakeGitHubUser,
  FakeGitHubUserInput,
  OrgRole,
  OrgState,
  TeamRole,
  TeamState,
} from './fake-github/users.ts'

export interface FakeGitHubOptions {
  /** The OAuth App's client id; default a random `Ov23li…` id. */
  clientId?: string
  /** The OAuth App's client secret; default 40 random hex digits. */
  clientSecret?: string
  /** The app's registered callback URL. Unset: any `redirect_uri` is accepted (it is then required). */
  callbackUrl?: string
  /** Milliseconds since the epoch; drives the 10-minute code expiry and token expiry. */
  now?: () => number
  /** GitHub Enterprise Server layout: one host, REST under `/api/v3`. Default: two hosts, like github.com + api.github.com. */
  enterprise?: boolean
  /** Issue expiring tokens (8 h, with `ghr_` refresh tokens) for every login, not only for `offline_access`. */
  expiringTokens?: boolean
  users?: FakeGitHubUserInput[]
  /** Serve https with this PEM key and certificate chain instead of http (clients must trust its CA). */
  tls?: { key: string; cert: string }
  /** The address the servers listen on; default loopback. `0.0.0.0` lets containers reach the fake. */
  listenHost?: string
  /** The host name in `baseUrl` and `apiUrl`, as the gateway reaches the fake; default `127.0.0.1`. */
  publicHost?: string
}

/** One HTTP request the fake received; `server` says which host it went to. */
export interface FakeGitHubRequest {
  server: 'web' | 'api'
  method: string
  path: string
  query: URLSearchParams
  /** Lower-cased names. */
  headers: Record<string, string>
  body: string
}

export interface FakeGitHub {
  /** `GITHUB_BASE_URL`: the web host with `/login/oauth/*` (no trailing slash). */
  readonly baseUrl: string
  /** `GITHUB_API_URL`: the REST root (no trailing slash). */
  readonly apiUrl: string
  readonly clientId: string
  readonly clientSecret: string
  /** The environment a gateway needs to talk to this fake. */
  readonly env: {
    readonly GITHUB_BASE_URL: string
    readonly GITHUB_API_URL: string
    readonly GITHUB_CLIENT_ID: string
    readonly GITHUB_CLIENT_SECRET: string
  }
  /** Everything received so far, oldest first (a live array). */
  readonly requests: readonly FakeGitHubRequest[]
  clearRequests(): void
  /** Registers (or with `null` forgets) the app's callback URL. */
  setCallbackUrl(url: string | null): void
  /** The first user added is signed in until `setNextLogin` switches accounts. */
  addUser(user: FakeGitHubUserInput): FakeGitHubUser
  user(login: string): FakeGitHubUser
  /** Signs `login` in at GitHub: it is the one who approves from the next authorize on. `scopes` overrides what that next approval grants. */
  setNextLogin(login: string, options?: { scopes?: string[] }): void
  /** The next authorize redirects back with `error=access_denied`. */
  denyNextAuthorization(): void
  /** Adds, changes or (with `null`) removes an org membership. */
  setOrgMembership(
    login: string,
    org: string,
    membership: OrgState | { state: OrgState; role: OrgRole } | null
  ): void
  /**
   * Adds, changes or (with `null`) removes a team membership (`org/team-slug`); an active one
   * makes the user an organisation member too, as on GitHub.
   */
  setTeamMembership(
    login: string,
    team: string,
    membership: TeamState | { state: TeamState; role: TeamRole } | null
  ): void
  /** The user revokes the app in their settings: all their tokens die. Returns how many were live. */
  revokeTokensOf(login: string): number
  /**
   * On: every authenticated REST call (or only those to `onlyPath`) answers 403 (or 429) with
   * `x-ratelimit-remaining: 0`.
   */
  setRateLimited(on: boolean, status?: 403 | 429, onlyPath?: string): void
  /** Every REST call waits this long before it is answered (0: at once). */
  setLatency(milliseconds: number): void
  /** Adds a repository (public unless `private`), answered by `/user/repos` and the issue endpoints. */
  addRepository(input: FakeRepositoryInput): FakeRepository
  /** Mints a token without the browser dance (scopes default to `read:user user:email read:org`). */
  issueToken(login: string, scopes?: string[]): FakeGitHubToken
  /** The user's tokens that still work, oldest first. */
  tokensOf(login: string): FakeGitHubToken[]
  /** Any token ever issued (revoked and expired ones too), by its `gho_` value. */
  token(value: string): FakeGitHubToken | undefined
  /** Every token ever issued, in order. */
  readonly issuedTokens: readonly FakeGitHubToken[]
  close(): Promise<void>
}

/** Starts a fake GitHub (OAuth App host + REST API) on loopback; see tests/support/fake-github-*.test.ts. */
export async function startFakeGitHub(options: FakeGitHubOptions = {}): Promise<FakeGitHub> {
  const state = new FakeGitHubState({
    clientId: options.clientId ?? `Ov23li${randomBytes(7).toString('hex')}`,
    clientSecret: options.clientSecret ?? randomBytes(20).toString('hex'),
    callbackUrl: options.callbackUrl ?? null,
    now: options.now ?? Date.now,
    expiringTokens: options.expiringTokens ?? false,
  })
  for (const user of options.users ?? []) state.addUser(user)
  const requests: FakeGitHubRequest[] = []
  const urls = { base: '', api: '' }

  const web = new Hono()
  web.use(
    '*',
    record(requests, (path) => (path.startsWith('/api/v3') ? 'api' : 'web'))
  )
  web.route('/', oauthRoutes(state))
  const servers: Server[] = []
  if (options.enterprise) {
    web.route(
      '/',
      apiRoutes(state, '/api/v3', () => urls.api)
    )
    servers.push(await listen(web, options))
    urls.base = origin(servers[0], options)
    urls.api = `${urls.base}/api/v3`
  } else {
    const api = new Hono()
    api.use(
      '*',
      record(requests, () => 'api')
    )
    api.route(
      '/',
      apiRoutes(state, '', () => urls.api)
    )
    servers.push(await listen(web, options), await listen(api, options))
    urls.base = origin(servers[0], options)
    urls.api = origin(servers[1], options)
  }

  return {
    baseUrl: urls.base,
    apiUrl: urls.api,
    clientId: state.clientId,
    clientSecret: state.clientSecret,
    env: {
      GITHUB_BASE_URL: urls.base,
      GITHUB_API_URL: urls.api,
      GITHUB_CLIENT_ID: state.clientId,
      GITHUB_CLIENT_SECRET: state.clientSecret,
    },
    requests,
    clearRequests: () => {
      requests.length = 0
    },
    setCallbackUrl: (url) => {
      state.callbackUrl = url
    },
    addUser: (user) => state.addUser(user),
    user: (login) => state.user(login),
    setNextLogin: (login, { scopes } = {}) => {
      state.signedIn = state.user(login).login.toLowerCase()
      state.nextGrantOverride = scopes ?? null
    },
    denyNextAuthorization: () => {
      state.denyNext = true
    },
    setOrgMembership: (login, org, membership) => state.setOrgMembership(login, org, membership),
    setTeamMembership: (login, team, membership) =>
      state.setTeamMembership(login, team, membership),
    revokeTokensOf: (login) => state.revokeGrant(login, 'user'),
    setLatency: (milliseconds) => {
      state.latencyMs = milliseconds
    },
    setRateLimited: (on, status = 403, onlyPath) => {
      state.rateLimited = on ? status : null
      state.rateLimitedPath = on ? (onlyPath ?? null) : null
    },
    addRepository: (input) => state.repositories.add(input),
    issueToken: (login, scopes = ['read:user', 'user:email', 'read:org']) =>
      state.issueToken(login, normalizeScopes(scopes.join(' ')), state.expiringTokens),
    tokensOf: (login) => state.liveTokensOf(login),
    token: (value) => state.tokens.get(value),
    get issuedTokens() {
      return [...state.tokens.values()]
    },
    close: async () => {
      await Promise.all(servers.map(close))
    },
  }
}

function record(
  requests: FakeGitHubRequest[],
  serverOf: (path: string) => 'web' | 'api'
): MiddlewareHandler {
  return async (c, next) => {
    const url = new URL(c.req.url)
    requests.push({
      server: serverOf(url.pathname),
      method: c.req.method,
      path: url.pathname,
      query: url.searchParams,
      headers: Object.fromEntries(c.req.raw.headers),
      body: c.req.method === 'GET' || c.req.method === 'HEAD' ? '' : await c.req.text(),
    })
    await next()
  }
}

async function listen(app: Hono, options: FakeGitHubOptions): Promise<Server> {
  const server = (
    options.tls
      ? createAdaptorServer({
          fetch: app.fetch,
          createServer: createHttpsServer,
          serverOptions: { key: options.tls.key, cert: options.tls.cert },
        })
      : createAdaptorServer({ fetch: app.fetch })
  ) as Server
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, options.listenHost ?? '127.0.0.1', () => resolve())
  })
  return server
}

function origin(server: Server | undefined, options: FakeGitHubOptions): string {
  const address = server?.address() as AddressInfo
  const scheme = options.tls ? 'https' : 'http'
  return `${scheme}://${options.publicHost ?? '127.0.0.1'}:${address.port}`
}

function close(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()))
    server.closeAllConnections()
  })
}
