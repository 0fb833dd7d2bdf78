import type { RequestId } from '@modelcontextprotocol/sdk/types.js'
import type { Logger } from 'pino'
import type { BoundedLog } from '../bounded-log.ts'
import type { Identity } from '../identity.ts'
import {
  decideToolCall,
  mayUseTool,
  type Subject,
  serviceRefusal,
  type ToolDecision,
} from './evaluate.ts'
import { MembershipCache, type MembershipDirectory } from './memberships.ts'
import { needsMemberships, type ServicePolicy } from './policy-format.ts'

/** The characters of a tool's name a refusal's log line keeps (names are 1-128 in the spec). */
const LOGGED_TOOL_NAME = 128

/** JSON-RPC code of a refused `tools/call`: the one MCP servers give for a tool they do not offer. */
export const TOOL_REFUSED = -32602
/** JSON-RPC code of a request refused because the user may not use the service at all. */
export const SERVICE_REFUSED = -32000

export interface PolicyGateDeps {
  readonly policy: ServicePolicy
  /** Scopes the service itself needs (the catalog's): kept in every step-up challenge. */
  readonly serviceScopes: readonly string[]
  /** Where memberships come from; without one, organisation and team rules match nobody. */
  readonly directory: MembershipDirectory | undefined
  /**
   * The resource's public URL (`https://echo.example.com/mcp`), for the challenge's
   * `resource_metadata`; undefined: derived from the request's forwarded host and path.
   */
  readonly resource: string | undefined
  readonly logger: Logger
  /** Where refusals are logged, within `REFUSAL_LOG_RATE`: an allowed user can ask again and again. */
  readonly refusals: BoundedLog
  readonly now: () => number
}

/**
 * A service's policy as the bridge applies it, the same for both protocol eras: who may use the
 * service, which tools `tools/list` shows, and what a `tools/call` gets (run, refused with a
 * JSON-RPC error naming what is missing, or a 403 step-up challenge for missing scopes).
 */
export class PolicyGate {
  readonly #deps: PolicyGateDeps
  readonly #memberships: MembershipCache | undefined
  /** Per session (by its object): the `tools/list` requests in flight and whom they are for. */
  readonly #lists = new WeakMap<object, Map<string | number, Subject>>()

  constructor(deps: PolicyGateDeps) {
    this.#deps = deps
    if (needsMemberships(deps.policy)) {
      if (!deps.directory) {
        deps.logger.warn(
          { event: 'policy_without_directory' },
          'the policy names organisations or teams but no user directory is configured: those rules match nobody'
        )
      }
      this.#memberships = new MembershipCache(deps.directory, deps)
    }
  }

  /** The user as the rules see them (memberships looked up only when a rule needs them). */
  async subject(identity: Identity): Promise<Subject> {
    if (!this.#memberships) return { userId: identity.userId, organizations: [], teams: [] }
    return this.#memberships.subject(identity.userId)
  }

  /** A 403 for a user who may not use the service at all, else undefined. */
  serviceRefused(subject: Subject): Response | undefined {
    const reason = serviceRefusal(this.#deps.policy, subject)
    if (reason === undefined) return undefined
    this.#deps.refusals('info', 'policy_denied', { user: subject.userId, reason })
    const error = { code: SERVICE_REFUSED, message: `Forbidden: ${reason}` }
    return Response.json({ jsonrpc: '2.0', id: null, error }, { status: 403 })
  }

  /** The decision for one client message: only `tools/call` is ever refused or stepped up. */
  decide(message: unknown, subject: Subject, identity: Identity): ToolDecision {
    const call = toolCallOf(message)
    if (call === undefined) return { kind: 'allowed' }
    const granted = identity.scopes.split(' ').filter(Boolean)
    const decision = decideToolCall(this.#deps.policy, call, subject, granted)
    if (decision.kind !== 'allowed') {
      // The name is the client's, as long as its body: its first characters and its length, and
      // the suppressed lines counted by kind, so the log does not grow with what it is sent.
      this.#deps.refusals(
        'info',
        decision.kind === 'refused' ? 'policy_denied' : 'policy_step_up',
        {
          user: subject.userId,
          tool: call.length > LOGGED_TOOL_NAME ? `${call.slice(0, LOGGED_TOOL_NAME)}…` : call,
          tool_length: call.length,
          ...(decision.kind === 'step-up' ? { missing: decision.missingScopes } : {}),
          reason: decision.kind === 'refused' ? 'tool_refused' : 'missing_scopes',
        }
      )
    }
    return decision
  }

  /** The JSON-RPC error of a refused call: what is missing, in words and in `data`. */
  refusalError(decision: ToolDecision & { kind: 'refused' }) {
    return {
      code: TOOL_REFUSED,
      message: `Forbidden: ${decision.reason}`,
      data: { tool: decision.tool },
    }
  }

  /**
   * MCP authorization "Scope Challenge Handling": 403 with `insufficient_scope`, naming the scopes
   * to ask for: the service's own, those the token has, and the tool's, so the new token loses
   * nothing the old one could do and one re-authorization is enough. The body answers the call's
   * id, as every refusal of a request does.
   */
  stepUp(
    request: Request,
    identity: Identity,
    decision: ToolDecision & { kind: 'step-up' },
    id: RequestId | null
  ) {
    const scopes = new Set([
      ...this.#deps.serviceScopes,
      ...identity.scopes.split(' ').filter(Boolean),
      ...(this.#deps.policy.tools[decision.tool]?.scopes ?? []),
    ])
    scopes.delete('offline_access')
    const description = `the tool ${decision.tool} needs the scope ${decision.missingScopes.join(' ')}`
    const challenge = [
      'error="insufficient_scope"',
      `error_description="${quoted(description)}"`,
      `scope="${[...scopes].join(' ')}"`,
      `resource_metadata="${resourceMetadataUrl(this.#deps.resource ?? resourceOf(request))}"`,
    ]
    const error = { code: SERVICE_REFUSED, message: `Forbidden: ${description}` }
    return Response.json(
      { jsonrpc: '2.0', id, error },
      { status: 403, headers: { 'WWW-Authenticate': `Bearer ${challenge.join(', ')}` } }
    )
  }

  /** A `tools/list` result without the tools the subject may not use. */
  filterToolsList(result: unknown, subject: Subject): unknown {
    if (!isObject(result) || !Array.isArray(result.tools)) return result
    const tools = result.tools.filter(
      (tool) => isObject(tool) && mayUseTool(this.#deps.policy, String(tool.name), subject)
    )
    return { ...result, tools }
  }

  /** Session era: the answers to these `tools/list` requests of the session are to be filtered. */
  expectToolsList(session: object, ids: readonly (string | number)[], subject: Subject): void {
    if (ids.length === 0) return
    let pending = this.#lists.get(session)
    if (!pending) {
      pending = new Map()
      this.#lists.set(session, pending)
    }
    for (const id of ids) pending.set(id, subject)
  }

  /** Session era: a message of the child on its way to the client, filtered where it must be. */
  answer<M>(session: object, message: M): M {
    const pending = this.#lists.get(session)
    if (!pending || pending.size === 0 || !isObject(message)) return message
    const id = message.id
    if ((typeof id !== 'string' && typeof id !== 'number') || !pending.has(id)) return message
    if (!('result' in message) && !('error' in message)) return message
    const subject = pending.get(id) as Subject
    pending.delete(id)
    if (!('result' in message)) return message
    return { ...message, result: this.filterToolsList(message.result, subject) }
  }
}

/** The tool a message calls, when it is a `tools/call` request. */
function toolCallOf(message: unknown): string | undefined {
  if (!isObject(message) || message.method !== 'tools/call') return undefined
  const params = message.params
  return isObject(params) && typeof params.name === 'string' ? params.name : ''
}

/** The resource a request was sent to, as the client named it (behind a proxy: forwarded). */
function resourceOf(request: Request): string {
  const url = new URL(request.url)
  const proto = request.headers.get('x-forwarded-proto')?.split(',')[0]?.trim()
  const host = request.headers.get('x-forwarded-host')?.split(',')[0]?.trim()
  return `${proto ? `${proto}:` : url.protocol}//${host || url.host}${url.pathname}`
}

/** RFC 9728 §3.1: the metadata URL of a resource, path-inserted. */
function resourceMetadataUrl(resource: string): string {
  const url = new URL(resource)
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '')
  return `${url.origin}/.well-known/oauth-protected-resource${path}`
}

/** RFC 9110 quoted-string content: `"` and `\` escaped. */
function quoted(text: string): string {
  return text.replace(/["\\]/g, (character) => `\\${character}`)
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
