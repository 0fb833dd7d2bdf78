/**
 * The service catalog: the one list of MCP services the gateway can serve. Compose services,
 * Traefik routers, standalone routes and the protected resources the authorization server knows
 * are all derived from (or checked against) this file.
 */
export interface ServiceDefinition {
  /** DNS-label name: the compose host `<name>.$BASE_DOMAIN`, the standalone path `/<name>/mcp`. */
  readonly name: string
  readonly description: string
  /** Whether the service runs when `MCP_<NAME>_ENABLED` is not set. */
  readonly enabledByDefault: boolean
  /** Scopes an access token must carry to reach this service (checked by /verify). */
  readonly requiredScopes: readonly string[]
}

export const serviceCatalog: readonly ServiceDefinition[] = [
  {
    name: 'echo',
    description: 'Echo and whoami: shows the identity the gateway injected',
    enabledByDefault: true,
    requiredScopes: ['mcp'],
  },
  {
    name: 'everything',
    description: 'The MCP reference server exercising every protocol feature',
    enabledByDefault: false,
    requiredScopes: ['mcp'],
  },
  {
    name: 'memory',
    description: 'Knowledge-graph memory, kept apart per user',
    enabledByDefault: false,
    requiredScopes: ['mcp'],
  },
  {
    name: 'filesystem',
    description: 'File access inside a per-user directory',
    enabledByDefault: false,
    requiredScopes: ['mcp'],
  },
  {
    name: 'sequential-thinking',
    description: 'Structured step-by-step reasoning tool',
    enabledByDefault: false,
    requiredScopes: ['mcp'],
  },
]
