import { createHash } from 'node:crypto'
import type { Config } from '../config.ts'

/**
 * The settings every replica on one store must share, by the name an operator sets, each as a
 * fingerprint (never the value: some are secrets). Replicas that differ on one of them answer the
 * same users differently, and some of those answers cannot be taken back:
 * - `AUTH_ISSUER`, `JWT_PRIVATE_KEY_B64`, the services: a token one replica issued is refused by
 *   another (a 401 to the client, as if it had expired);
 * - the allow-lists: a refresh landing on the replica with the narrower list would revoke the
 *   user's tokens for good (it is deferred instead, `recheck-user.ts`); the services' policies:
 *   `/verify` lets the user through on one replica and not on the other;
 * - the GitHub OAuth App (`GITHUB_CLIENT_ID`, `GITHUB_CLIENT_SECRET`): the GitHub grant one replica
 *   kept is unreadable to another, so the user's refresh there fails and they sign in again;
 * - lifetimes and the client policy: the same request is answered differently by turns.
 */
export type SharedSettings = Readonly<Record<string, string>>

export function sharedSettings(config: Config): SharedSettings {
  const settings: Record<string, unknown> = {
    AUTH_ISSUER: config.issuer,
    ALLOWED_GITHUB_USERS: config.allowedUsers,
    ALLOWED_GITHUB_ORGS: config.allowedOrgs,
    ALLOWED_GITHUB_TEAMS: config.allowedTeams,
    // The services, their scopes and who may use each (MCP_<NAME>_*, MCP_POLICY_FILE).
    MCP_SERVICES: config.protectedResources.map((r) => ({
      resource: r.resource,
      requiredScopes: r.service.requiredScopes,
      toolScopes: r.toolScopes,
      allowedUsers: r.allowedUsers,
      allowedOrgs: r.allowedOrgs,
    })),
    JWT_PRIVATE_KEY_B64: config.pinnedSigningKey ?? null,
    GITHUB_CLIENT_ID: [config.github.baseUrl, config.github.clientId ?? null],
    GITHUB_CLIENT_SECRET: config.github.clientSecret ?? null,
    ACCESS_TOKEN_TTL: config.ttl.accessToken,
    REFRESH_TOKEN_TTL: config.ttl.refreshToken,
    REFRESH_TOKEN_REUSE_GRACE: config.refreshTokenReuseGrace,
    USER_RECHECK_INTERVAL: config.userRecheckInterval,
    CLIENT_LIFETIME: [config.ttl.client, config.ttl.unusedClient],
    DYNAMIC_CLIENT_REGISTRATION: config.dynamicClientRegistration,
    CLIENT_ID_METADATA_DOCUMENTS: config.clientIdMetadataDocuments.enabled,
  }
  return Object.fromEntries(
    Object.entries(settings).map(([name, value]) => [name, fingerprint(name, value)])
  )
}

/**
 * The settings that decide whether a user signed in earlier may still use the gateway (the
 * allow-lists, and the GitHub App their kept grant is sealed for).
 */
export const USER_VERDICT_SETTINGS: readonly string[] = [
  'ALLOWED_GITHUB_USERS',
  'ALLOWED_GITHUB_ORGS',
  'ALLOWED_GITHUB_TEAMS',
  'GITHUB_CLIENT_ID',
  'GITHUB_CLIENT_SECRET',
]

/** Short, and salted by the name: equal values of two settings do not look alike. */
function fingerprint(name: string, value: unknown): string {
  return createHash('sha256')
    .update(`${name}\0${canonical(value)}`)
    .digest('base64url')
    .slice(0, 16)
}

/** JSON in which lists are sets and objects have no key order: `a,b` is `b,a`. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).sort().join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonical(item)}`).join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}

/** A replica as another sees it: who, and its settings' fingerprints. */
export interface ReplicaSettings {
  readonly id: string
  readonly settings: SharedSettings
}

/** One setting on which some replicas differ from `own`: which setting, and which replicas. */
export interface Disagreement {
  readonly setting: string
  readonly replicas: readonly string[]
}

/**
 * The settings on which `others` differ from `own`, in `own`'s order. A setting one side does not
 * know (a replica of another version) is not a disagreement: it cannot be compared.
 */
export function disagreements(
  own: SharedSettings,
  others: readonly ReplicaSettings[]
): Disagreement[] {
  return Object.entries(own).flatMap(([setting, value]) => {
    const replicas = others
      .filter((other) => setting in other.settings && other.settings[setting] !== value)
      .map((other) => other.id)
    return replicas.length > 0 ? [{ setting, replicas }] : []
  })
}

/**
 * The settings on which the replicas do not all agree, each with the replicas grouped by value
 * (for an operator looking from outside, with no settings of their own to compare).
 */
export function settingsInDispute(
  replicas: readonly ReplicaSettings[]
): { readonly setting: string; readonly groups: readonly (readonly string[])[] }[] {
  const names = [...new Set(replicas.flatMap((replica) => Object.keys(replica.settings)))]
  return names.flatMap((setting) => {
    const groups = new Map<string, string[]>()
    for (const replica of replicas) {
      const value = replica.settings[setting]
      if (value === undefined) continue
      groups.set(value, [...(groups.get(value) ?? []), replica.id])
    }
    return groups.size > 1 ? [{ setting, groups: [...groups.values()] }] : []
  })
}
