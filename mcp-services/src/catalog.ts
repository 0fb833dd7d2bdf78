import type { ServicePolicy } from './policy/policy-format.ts'

/**
 * The service catalog: the one list of MCP services the gateway can serve. Compose services,
 * Traefik routers, standalone routes and the protected resources the authorization server knows
 * are all derived from (or checked against) this file.
 *
 * Strings in `args`, `env` and `perUserDirectories` are templates: `{userId}` becomes the
 * path-safe form of the session user's id and `{dataDir}` the bridge's data directory
 * (`DATA_DIR`), so stateful servers keep each user's data apart (see `template.ts`).
 */
export interface ServiceDefinition {
  /** DNS-label name: the compose host `<name>.$BASE_DOMAIN`, the standalone path `/<name>/mcp`. */
  readonly name: string
  readonly description: string
  /** Whether the service runs when `MCP_<NAME>_ENABLED` is not set. */
  readonly enabledByDefault: boolean
  /** Scopes an access token must carry to reach this service (checked by /verify). */
  readonly requiredScopes: readonly string[]
  /** What to run: always the Node running the bridge, on an installed file (never a download). */
  readonly launch: ServiceLaunch
  /** Command-line arguments after the script (templates). */
  readonly args: readonly string[]
  /** Extra environment for the child, on top of a minimal inherited one (templates). */
  readonly env: Readonly<Record<string, string>>
  /** Directories created (recursively) before a user's child starts (templates). */
  readonly perUserDirectories: readonly string[]
  /**
   * Whether the child gets the session user's identity as `MCP_GATEWAY_USER_ID`,
   * `MCP_GATEWAY_USER_NAME`, `MCP_GATEWAY_USER_EMAIL`, `MCP_GATEWAY_CLIENT_ID`,
   * `MCP_GATEWAY_AUTH_SCOPES` (the identity headers the gateway injected). Off for third-party
   * servers: they do not need it.
   */
  readonly passIdentity: boolean
  /**
   * Whether the child acts on GitHub as the session user: it starts with that user's own GitHub
   * token (kept by the gateway since their sign-in, fetched from the authorization server) in
   * `MCP_GATEWAY_GITHUB_TOKEN`, and the bridge's `GITHUB_API_URL`. The token can do whatever the
   * user's grant allows, so only for servers trusted with it. Absent: false.
   */
  readonly actAsGitHubUser?: boolean
  /**
   * Client capabilities removed from `initialize` before it reaches the child. `roots` lets a
   * client replace the filesystem server's allowed directories, which would defeat the
   * per-user directory, so the filesystem service never sees it.
   */
  readonly hiddenClientCapabilities: readonly string[]
  /**
   * Where the service's child may open connections: `'none'`, or the host names it needs. Compose
   * puts a service with `'none'` on an internal network that only Traefik shares (no route out,
   * no neighbour); a server with a fetch-like tool gets its own allow-list set to match
   * (`catalog.test.ts` and `tests/deploy/compose.test.ts` check both).
   */
  readonly egress: Egress
  /**
   * Who may use the service and which of its tools, and the scopes tools need (docs/policy.md);
   * the policy file's entry for the service (`MCP_POLICY_FILE`) replaces it. Absent: no rules
   * beyond the gateway's own.
   */
  readonly policy?: ServicePolicy
}

/** `'none'`, or the host names a service's child must reach. */
export type Egress = 'none' | readonly string[]

/** An installed npm package's bin, resolved through its package.json at start. */
export interface PackageBinLaunch {
  readonly kind: 'package-bin'
  readonly package: string
  readonly bin: string
}

/** A module of this package (path relative to this file), run directly by Node. */
export interface ModuleLaunch {
  readonly kind: 'module'
  readonly path: string
}

export type ServiceLaunch = PackageBinLaunch | ModuleLaunch

/** A domain allow-list entry no host name can match (host names never contain `<`). */
export const NO_DOMAIN = '<none>'

const noExtras = {
  args: [],
  env: {},
  perUserDirectories: [],
  passIdentity: false,
  hiddenClientCapabilities: [],
} as const

export const serviceCatalog: readonly ServiceDefinition[] = [
  {
    name: 'echo',
    description: 'Echo and whoami: shows the identity the gateway injected',
    enabledByDefault: true,
    requiredScopes: ['mcp'],
    egress: 'none',
    launch: { kind: 'module', path: './services/echo-server.ts' },
    ...noExtras,
    passIdentity: true,
  },
  {
    name: 'everything',
    description: 'The MCP reference server exercising every protocol feature',
    enabledByDefault: false,
    requiredScopes: ['mcp'],
    egress: 'none',
    launch: {
      kind: 'package-bin',
      package: '@modelcontextprotocol/server-everything',
      bin: 'mcp-server-everything',
    },
    ...noExtras,
    args: ['stdio'],
    // Its gzip-file-as-resource tool fetches any http(s) URL it is given, from inside the
    // deployment; an empty list means "every domain" to it. `<` cannot occur in a host name, so
    // this list matches none: every http(s) URL is refused before a connection is opened, and
    // data: URLs still work.
    env: { GZIP_ALLOWED_DOMAINS: NO_DOMAIN },
  },
  {
    name: 'memory',
    description: 'Knowledge-graph memory, kept apart per user',
    enabledByDefault: false,
    requiredScopes: ['mcp'],
    egress: 'none',
    launch: {
      kind: 'package-bin',
      package: '@modelcontextprotocol/server-memory',
      bin: 'mcp-server-memory',
    },
    ...noExtras,
    env: { MEMORY_FILE_PATH: '{dataDir}/memory/{userId}/memory.jsonl' },
    perUserDirectories: ['{dataDir}/memory/{userId}'],
  },
  {
    name: 'filesystem',
    description: 'File access inside a per-user directory',
    enabledByDefault: false,
    requiredScopes: ['mcp'],
    egress: 'none',
    launch: {
      kind: 'package-bin',
      package: '@modelcontextprotocol/server-filesystem',
      bin: 'mcp-server-filesystem',
    },
    ...noExtras,
    args: ['{dataDir}/filesystem/{userId}'],
    perUserDirectories: ['{dataDir}/filesystem/{userId}'],
    hiddenClientCapabilities: ['roots'],
  },
  {
    name: 'sequential-thinking',
    description: 'Structured step-by-step reasoning tool',
    enabledByDefault: false,
    requiredScopes: ['mcp'],
    egress: 'none',
    launch: {
      kind: 'package-bin',
      package: '@modelcontextprotocol/server-sequential-thinking',
      bin: 'mcp-server-sequential-thinking',
    },
    ...noExtras,
    // The server prints every thought to stderr unless told not to.
    env: { DISABLE_THOUGHT_LOGGING: 'true' },
  },
  {
    name: 'github',
    description: 'GitHub as the signed-in user: their account, repositories and issues',
    enabledByDefault: false,
    requiredScopes: ['mcp'],
    egress: ['api.github.com'],
    launch: { kind: 'module', path: './services/github-server.ts' },
    ...noExtras,
    actAsGitHubUser: true,
  },
  {
    name: 'conformance',
    description:
      'Fixtures of the MCP conformance suite (test_* tools, test:// resources, prompts): exists ' +
      'so the suite runs through the bridge; not a service for users',
    enabledByDefault: false,
    requiredScopes: ['mcp'],
    egress: 'none',
    launch: { kind: 'module', path: './services/conformance-fixtures.ts' },
    ...noExtras,
  },
]

/** The catalog entry called `name`, or undefined. */
export function findService(name: string): ServiceDefinition | undefined {
  return serviceCatalog.find((service) => service.name === name)
}
