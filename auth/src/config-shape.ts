import type { ServiceDefinition } from '../../mcp-services/src/catalog.ts'
import type { UserEntry } from './policy/allow-list.ts'
import type { TrustProxy } from './trusted-proxies.ts'

// What `loadConfig` (config.ts) makes of the environment: the frozen settings every module is
// handed instead of reading variables itself.

export interface ProtectedResource {
  /** The resource identifier (RFC 8707/9728): the URL clients connect to. */
  readonly resource: string
  readonly service: ServiceDefinition
  /**
   * Scopes some of the service's tools need (the policy, `MCP_POLICY_FILE` or the catalog): granted
   * when a client asks for them (step-up), never by default, and not in the resource's metadata,
   * which lists what basic use needs.
   */
  readonly toolScopes: readonly string[]
  /**
   * Per-service access policy (`MCP_<NAME>_ALLOWED_USERS` / `_ALLOWED_ORGS`): who among the
   * gateway's allowed users may use this service. Both empty: everyone the gateway lets in.
   */
  readonly allowedUsers: readonly UserEntry[] | '*'
  readonly allowedOrgs: readonly string[]
}

export interface Config {
  readonly production: boolean
  readonly mode: 'standalone' | 'auth'
  readonly host: string
  readonly port: number
  /** Issuer identifier, byte for byte as published (no trailing slash). */
  readonly issuer: string
  readonly github: {
    readonly clientId: string | undefined
    readonly clientSecret: string | undefined
    readonly baseUrl: string
    readonly apiUrl: string
    /**
     * `GITHUB_EXTRA_SCOPES`: scopes asked at sign-in beyond `read:user user:email read:org`, for
     * services acting as the user on GitHub (the kept token carries them).
     */
    readonly extraScopes: readonly string[]
  }
  /**
   * Whether the development sign-in (a page where anyone types any name) is offered when no
   * GitHub OAuth App is configured: on a loopback issuer listening on loopback, or with
   * `DEVELOPMENT_SIGN_IN=true`; never in production nor for a non-loopback https issuer.
   */
  readonly developmentSignIn: boolean
  /**
   * `DEVELOPMENT_SIGN_IN=true`: offered wherever the gateway is reached. Without it, the page
   * answers only requests made on this machine (a loopback `Host`, no forwarding headers): a
   * tunnel or a local proxy also connects from loopback.
   */
  readonly developmentSignInOptedIn: boolean
  /** `ALLOWED_GITHUB_USERS`: `id:<number>` entries (preferred) and logins, or '*'. */
  readonly allowedUsers: readonly UserEntry[] | '*'
  readonly allowedOrgs: readonly string[]
  /** `ALLOWED_GITHUB_TEAMS`: `org/team-slug` entries, lower-cased; members of these teams get in. */
  readonly allowedTeams: readonly string[]
  readonly redis: { readonly url: string; readonly keyPrefix: string } | undefined
  readonly pinnedSigningKey: string | undefined
  readonly ttl: {
    readonly accessToken: number
    readonly refreshToken: number
    readonly authorizationCode: number
    readonly deviceCode: number
    /** A registration's lifetime from its last use; 0: used registrations never expire. */
    readonly client: number
    /** A registration's lifetime until it is first used; 0: `client` from the start. */
    readonly unusedClient: number
  }
  /** Registrations per minute from one caller, and from all callers together. */
  readonly registrationRateLimit: number
  readonly registrationGlobalRateLimit: number
  /** Token requests per minute from one caller. */
  readonly tokenRateLimit: number
  /**
   * Seconds after a rotation during which the replaced refresh token, presented again, gets the
   * same successor instead of revoking its family (parallel sessions of one client); 0: none.
   */
  readonly refreshTokenReuseGrace: number
  /**
   * Seconds a re-check at GitHub that let a user in is believed by their refreshes (one GitHub
   * check per user per interval; a leaver is cut off within it); 0: every refresh asks.
   */
  readonly userRecheckInterval: number
  /**
   * Whether X-Forwarded-For is believed for the caller's address (behind a reverse proxy): from
   * any peer, or from the proxy's addresses alone.
   */
  readonly trustProxy: TrustProxy
  /**
   * Client ID metadata documents (MCP 2025-11-25): an https `client_id` is fetched as the client's
   * metadata. `allowLoopback` (tests only, never in production) lets loopback hosts serve them.
   */
  readonly clientIdMetadataDocuments: { readonly enabled: boolean; readonly allowLoopback: boolean }
  /** RFC 7591 dynamic client registration at `/register`. */
  readonly dynamicClientRegistration: boolean
  readonly logLevel: string
  /** `json` or `pretty` (readable lines); unset: pretty when stdout is a terminal, else JSON. */
  readonly logFormat: 'json' | 'pretty' | undefined
  /**
   * Refusal lines (`verify_denied`, `request_refused`, `authorization_refused`) written a second
   * of each, per process; the rest are counted in one line a second. 0: every one.
   */
  readonly refusalLogRate: number
  /**
   * Audit events kept in the store's stream for `admin audit` (the newest, about this many); 0:
   * none (they are on standard output either way).
   */
  readonly auditStreamMaxLength: number
  readonly protectedResources: readonly ProtectedResource[]
  /**
   * The internal API for the deployment's own services (docs/internal-api.md), on its own port
   * of `host`; absent, and not served, without `INTERNAL_API_SECRET`.
   */
  readonly internalApi: { readonly port: number; readonly secret: string } | undefined
  /**
   * The bearer token Prometheus presents for `/metrics` on the internal port (docs/metrics.md);
   * absent: `/metrics` takes `INTERNAL_API_SECRET` instead.
   */
  readonly metricsToken: string | undefined
  /**
   * On SIGTERM/SIGINT: `/ready` answers 503 for `delayMs` (`SHUTDOWN_DELAY`) while everything is
   * still served, so proxies stop sending; then the listeners close and requests in flight get
   * `timeoutMs` (`SHUTDOWN_TIMEOUT`) to finish before their connections are cut.
   */
  readonly shutdown: { readonly delayMs: number; readonly timeoutMs: number }
}
