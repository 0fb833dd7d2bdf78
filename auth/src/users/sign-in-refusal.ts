import type { AuditClient, AuditFlow } from '../audit/audit-events.ts'
import type { AuditTrail } from '../audit/audit-trail.ts'
import type { Logger } from '../logger.ts'

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
