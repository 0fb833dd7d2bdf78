import type { Audience, ServicePolicy } from './policy-format.ts'

/** Who is asking, by GitHub numeric ids: the user and the organisations and teams they are in. */
export interface Subject {
  readonly userId: string
  readonly organizations: readonly string[]
  readonly teams: readonly string[]
}

/** What a `tools/call` gets: run, refused (with what is missing), or asked to step up. */
export type ToolDecision =
  | { readonly kind: 'allowed' }
  | { readonly kind: 'refused'; readonly tool: string; readonly reason: string }
  | { readonly kind: 'step-up'; readonly tool: string; readonly missingScopes: readonly string[] }

/** Whether the subject is named by the audience, or is a member of one of its orgs or teams. */
function inAudience(audience: Audience, subject: Subject): boolean {
  return (
    audience.users.includes(subject.userId) ||
    audience.organizations.some((id) => subject.organizations.includes(id)) ||
    audience.teams.some((id) => subject.teams.includes(id))
  )
}

/** Why the subject may not use the service at all, or undefined when they may. */
export function serviceRefusal(policy: ServicePolicy, subject: Subject): string | undefined {
  if (!policy.allow || inAudience(policy.allow, subject)) return undefined
  return `this service is for ${describeAudience(policy.allow)}`
}

/**
 * Whether the subject may see the tool in `tools/list`: the audience rules only. A tool whose
 * scopes the token lacks stays listed, so the client can call it and be asked to step up.
 */
export function mayUseTool(policy: ServicePolicy, tool: string, subject: Subject): boolean {
  return toolRefusal(policy, tool, subject) === undefined
}

/** The decision for a call of `tool` by the subject holding `grantedScopes`. */
export function decideToolCall(
  policy: ServicePolicy,
  tool: string,
  subject: Subject,
  grantedScopes: readonly string[]
): ToolDecision {
  const reason = toolRefusal(policy, tool, subject)
  if (reason !== undefined) return { kind: 'refused', tool, reason }
  const needed = policy.tools[tool]?.scopes ?? []
  const missingScopes = needed.filter((scope) => !grantedScopes.includes(scope))
  if (missingScopes.length > 0) return { kind: 'step-up', tool, missingScopes }
  return { kind: 'allowed' }
}

function toolRefusal(policy: ServicePolicy, tool: string, subject: Subject): string | undefined {
  const refused = serviceRefusal(policy, subject)
  if (refused !== undefined) return refused
  const rule = Object.hasOwn(policy.tools, tool) ? policy.tools[tool] : undefined
  if (!rule) {
    return policy.unlistedTools === 'deny' ? `the tool ${tool} is not offered here` : undefined
  }
  if (!rule.allow || inAudience(rule.allow, subject)) return undefined
  return `the tool ${tool} is for ${describeAudience(rule.allow)}`
}

/** "user 1, members of organisation 2 or members of team 3": what a refused subject lacks. */
export function describeAudience(audience: Audience): string {
  const parts = [
    ...listed('user', audience.users),
    ...listed('members of organisation', audience.organizations),
    ...listed('members of team', audience.teams),
  ]
  if (parts.length === 0) return 'nobody'
  return parts.length === 1
    ? (parts[0] as string)
    : `${parts.slice(0, -1).join(', ')} or ${parts.at(-1)}`
}

function listed(noun: string, ids: readonly string[]): string[] {
  if (ids.length === 0) return []
  // Who else may use it is none of a refused user's business: users are not named. An
  // organisation or a team is, so that the user knows whom to ask.
  if (noun === 'user') return ['the users its policy names']
  return [`${noun} ${ids.join(', ')}`]
}
