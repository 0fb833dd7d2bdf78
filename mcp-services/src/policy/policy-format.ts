import { readFileSync } from 'node:fs'
import { z } from 'zod'

/**
 * The policy format (docs/policy.md): per service, who may use it and which of its tools, and the
 * scopes a tool needs. People are named by GitHub's numeric ids only (users, organisations, teams):
 * a login can be renamed and registered again by someone else, an id never changes.
 */

/** Who an allow rule lets in: a listed user, or a member of a listed organisation or team. */
export interface Audience {
  readonly users: readonly string[]
  readonly organizations: readonly string[]
  readonly teams: readonly string[]
}

export interface ToolPolicy {
  /** Absent: whoever may use the service may use the tool. */
  readonly allow?: Audience
  /** Scopes the access token must carry for a call (step-up when missing). */
  readonly scopes: readonly string[]
}

export interface ServicePolicy {
  /** Absent: whoever the gateway lets through may use the service. */
  readonly allow?: Audience
  readonly tools: Readonly<Record<string, ToolPolicy>>
  /** Tools not named in `tools`: offered to everyone allowed the service, or to nobody. */
  readonly unlistedTools: 'allow' | 'deny'
}

export interface GatewayPolicy {
  readonly services: Readonly<Record<string, ServicePolicy>>
}

const githubId = z
  .union([
    z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
    z.string().regex(/^\d{1,20}$/),
  ])
  .transform((id) => String(id).replace(/^0+(?=\d)/, ''))

const idList = z.array(githubId).default([])

/** RFC 6749 §3.3 scope-token; `offline_access` only asks for a refresh token, never for a call. */
const scopeToken = z
  .string()
  .regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'a scope token (printable ASCII, no space, " or \\)')
  .refine((scope) => scope !== 'offline_access', 'offline_access is not a scope a tool can need')

const audience = z.strictObject({ users: idList, organizations: idList, teams: idList })

const toolPolicy = z.strictObject({
  allow: audience.optional(),
  scopes: z.array(scopeToken).default([]),
})

const servicePolicy = z.strictObject({
  allow: audience.optional(),
  tools: z.record(z.string().min(1), toolPolicy).default({}),
  unlistedTools: z.enum(['allow', 'deny']).default('allow'),
})

const gatewayPolicy = z.strictObject({
  services: z.record(z.string().regex(/^[a-z0-9-]+$/, 'a catalog service name'), servicePolicy),
})

/**
 * Parses a policy document; throws an Error naming the first offending field. A service name
 * outside `knownServices` is refused: a typo would otherwise leave the real service open.
 */
export function parsePolicy(document: unknown, knownServices?: readonly string[]): GatewayPolicy {
  const parsed = gatewayPolicy.safeParse(document)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const where = issue?.path.length ? issue.path.join('.') : 'the document'
    throw new Error(`${where}: ${issue?.message ?? 'invalid'}`)
  }
  const unknown = Object.keys(parsed.data.services).find(
    (name) => knownServices !== undefined && !knownServices.includes(name)
  )
  if (unknown !== undefined) {
    throw new Error(`services.${unknown}: no such service (one of: ${knownServices?.join(', ')})`)
  }
  return parsed.data as GatewayPolicy
}

/**
 * Reads and parses the policy file (`MCP_POLICY_FILE`) once at start-up. Throws an Error whose
 * message names the variable and the problem, so start-up stops with one clear line.
 */
export function loadPolicyFile(
  path: string,
  knownServices?: readonly string[],
  variable = 'MCP_POLICY_FILE'
): GatewayPolicy {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new Error(`${variable}: cannot read ${path}: ${(error as Error).message}`)
  }
  let document: unknown
  try {
    document = JSON.parse(text)
  } catch (error) {
    throw new Error(`${variable}: ${path} is not JSON: ${(error as Error).message}`)
  }
  try {
    return parsePolicy(document, knownServices)
  } catch (error) {
    throw new Error(`${variable}: ${path}: ${(error as Error).message}`)
  }
}

/** Every scope some tool of the service needs (the authorization server grants them on request). */
export function toolScopes(policy: ServicePolicy | undefined): string[] {
  if (!policy) return []
  return [...new Set(Object.values(policy.tools).flatMap((tool) => tool.scopes))]
}

/** Whether any rule names an organisation or a team (then memberships must be looked up). */
export function needsMemberships(policy: ServicePolicy): boolean {
  const audiences = [policy.allow, ...Object.values(policy.tools).map((tool) => tool.allow)]
  return audiences.some(
    (entry) => entry !== undefined && (entry.organizations.length > 0 || entry.teams.length > 0)
  )
}
