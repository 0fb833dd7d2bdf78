import type { AuditClient, AuditFlow } from '../audit/audit-events.ts'
import type { AuditTrail } from '../audit/audit-trail.ts'
import type { Config } from '../config.ts'
import { AccessDenied } from '../errors.ts'
import type { Logger } from '../logger.ts'
import type { TokenSubject } from '../oauth/access-token.ts'
import { allowListRefusal, gatewayAllowList } from '../policy/allow-list.ts'

export interface SignInRefusal {
  /** The log event: `login_denied` after a sign-in, `session_denied` for a remembered session. */
  readonly event: 'login_denied' | 'session_denied'
  readonly flow: AuditFlow | 'session'
  readonly user: { readonly id: string; readonly login?: string }
  readonly clientId?: string | undefined
  /** Machine-readable: an `AllowListRefusal` (`not_in_allowed_team`, …) or a re-check's reason. */
  readonly reason: string
  /** More for the log line only (the device flow's marker, …). */
  readonly fields?: Readonly<Record<string, unknown>>
}

/**
 * The one way a sign-in is refused by policy, after GitHub or a remembered session said who the
 * user is: a warning with the reason, and `user.sign_in_refused` in the audit trail. Refreshes
 * are refused by the refresh grant (`token.refresh_refused`) with the same reasons.
 */
export async function refuseSignIn(
  deps: { readonly logger: Logger; readonly audit: AuditTrail },
  refusal: SignInRefusal
): Promise<void> {
  const { event, flow, user, clientId, reason, fields } = refusal
  deps.logger.warn({
    ...fields,
    event,
    reason,
    user_id: user.id,
    login: user.login,
    client_id: clientId,
    flow,
  })
  const client: AuditClient | undefined = clientId ? { client_id: clientId } : undefined
  await deps.audit.record({ event: 'user.sign_in_refused', flow, user, client, reason })
}

/**
 * The gateway's allow-list judging a user who just signed in (a browser authorization, a device,
 * the account page): nothing when it admits them; else the refusal is recorded (`refuseSignIn`)
 * and the error to show them is returned, for the flow to present its own way. `clientId` is
 * asked for only then.
 */
export async function refuseUnlessAllowed(
  deps: {
    readonly config: Pick<Config, 'allowedUsers' | 'allowedOrgs' | 'allowedTeams'>
    readonly logger: Logger
    readonly audit: AuditTrail
  },
  subject: TokenSubject,
  flow: AuditFlow,
  clientId?: () => Promise<string | undefined> | string | undefined
): Promise<AccessDenied | undefined> {
  const reason = allowListRefusal(subject, gatewayAllowList(deps.config))
  if (!reason) return undefined
  await refuseSignIn(deps, {
    event: 'login_denied',
    flow,
    user: { id: subject.id, login: subject.login },
    clientId: await clientId?.(),
    reason,
  })
  return new AccessDenied(`${subject.login} is not allowed to use this gateway`)
}
