import type { Context } from 'hono'
import type { AuthDeps } from '../deps.ts'
import { AccessDenied } from '../errors.ts'
import type { Cookies } from '../http/cookies.ts'
import type { TokenSubject } from '../oauth/access-token.ts'
import { recheckUser } from '../users/recheck-user.ts'
import { endBrowserSession } from './browser-session.ts'

/**
 * What a remembered browser session may do now: `allowed` mints as the user read again
 * upstream; `sign_in` means the session was ended because the kept grant is gone or revoked at
 * the provider (the user may still be allowed, so they sign in again as without a session);
 * `refused` means the user is no longer allowed, and the session was ended.
 */
export type SessionUser =
  | { readonly outcome: 'allowed'; readonly subject: TokenSubject }
  | { readonly outcome: 'sign_in' }
  | { readonly outcome: 'refused'; readonly error: AccessDenied }

/**
 * A browser session lasts hours, so a user removed from the allow-list or an organisation in
 * the meantime would otherwise keep getting codes and device approvals from it. Before a session
 * mints anything, the user is read again upstream exactly as a refresh does (`recheck-user.ts`);
 * a refusal is logged as `session_denied` with its reason, and audited as `user.sign_in_refused`.
 *
 * @throws TemporarilyUnavailable when the provider cannot be reached.
 */
export async function recheckSessionUser(
  c: Context,
  deps: AuthDeps,
  jar: Cookies,
  session: TokenSubject,
  audit: Readonly<Record<string, unknown>>
): Promise<SessionUser> {
  const check = await recheckUser(deps, session, { event: 'session_denied', ...audit })
  if (check.allowed) return { outcome: 'allowed', subject: check.subject }
  const sessionId = jar.get(c, 'session')
  if (sessionId) await endBrowserSession(deps.store, sessionId)
  jar.clear(c, 'session')
  if (check.reason !== 'not_allowed') return { outcome: 'sign_in' }
  // The log line was written by the re-check; the audit trail says why too.
  await deps.audit.record({
    event: 'user.sign_in_refused',
    flow: 'session',
    user: { id: session.id, login: session.login },
    client: typeof audit.client_id === 'string' ? { client_id: audit.client_id } : undefined,
    reason: check.policyReason ?? check.reason,
  })
  return {
    outcome: 'refused',
    error: new AccessDenied(`${session.login} is no longer allowed to use this gateway`, {
      reason: 'user_no_longer_allowed',
    }),
  }
}
