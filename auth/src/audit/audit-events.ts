/**
 * The audit trail's events (docs/audit.md): who did what to which client, from where, when.
 * Events name people and clients, never a credential: no token, code, secret or upstream token
 * is a field of any of them (a refresh family is named by its id, which grants nothing).
 */

/** The user an event is about: GitHub's numeric id and, when known, the login. */
export interface AuditUser {
  readonly id: string
  readonly login?: string
}

/**
 * The client an event is about; a `ClientRecord` is one. Without `metadata` (the caller knows
 * only the id) the trail reads the registered name itself; with it, the name is taken as given.
 */
export interface AuditClient {
  readonly client_id: string
  readonly metadata?: { readonly client_name?: string | undefined }
}

/** Who acted: the client itself (RFC 7009/7592), the user, an operator (admin CLI), the gateway. */
export type AuditActor = 'client' | 'user' | 'admin' | 'gateway'

/**
 * How a user came to sign in or consent: a browser authorization (`/authorize`), a device, or
 * (sign-in only) the gateway's own account page.
 */
export type AuditFlow = 'authorization_code' | 'device' | 'account'

/**
 * Why a sign-in or a refresh was refused, machine-readable:
 * - `not_an_allowed_user`, `not_in_allowed_org`, `not_in_allowed_team`, `allow_list_empty`,
 *   `another_user`: which part of the allow-list refused the user (`AllowListRefusal`), or
 *   `not_allowed` without a finer reason;
 * - `no_upstream_grant`: nothing kept from the user's sign-in to re-check them with;
 * - `upstream_grant_revoked`: the user withdrew the gateway's access at the identity provider;
 * - `upstream_denied`: the user cancelled, or refused the gateway, at the identity provider;
 * - `upstream_code_rejected`: the identity provider refused the sign-in code it had handed out;
 * - `upstream_failure`: the identity provider could not be asked;
 * - any other word a refusal path gives (new policies add theirs).
 */
export type AuditRefusalReason =
  | 'not_allowed'
  | 'no_upstream_grant'
  | 'upstream_grant_revoked'
  | 'upstream_denied'
  | 'upstream_code_rejected'
  | 'upstream_failure'
  | (string & {})

interface About {
  readonly user?: AuditUser | undefined
  readonly client?: AuditClient | undefined
}

export type AuditEvent = About &
  (
    | { readonly event: 'user.signed_in'; readonly flow: AuditFlow; readonly upstream: string }
    | {
        readonly event: 'user.sign_in_refused'
        /** `session`: a remembered browser session re-checked before it was trusted again. */
        readonly flow: AuditFlow | 'session'
        readonly reason: AuditRefusalReason
      }
    | {
        readonly event: 'authorization.consent_given'
        readonly flow: AuditFlow
        /** Absent only when a device approved before its user signed in has redeemed it already. */
        readonly scope?: string
        readonly resource?: readonly string[]
        /** True when no page was shown: the user had consented to this before. */
        readonly remembered: boolean
      }
    | { readonly event: 'authorization.consent_denied'; readonly flow: AuditFlow }
    | {
        readonly event: 'authorization.consent_revoked'
        readonly by: AuditActor
        /** Refresh families the consent had led to, revoked with it. */
        readonly families?: number
        /** Codes and approved device codes not redeemed yet, revoked with it (when any). */
        readonly pending_grants?: number
      }
    | {
        readonly event: 'token.issued'
        readonly grant_type: string
        readonly scope: string
        readonly family_id: string
      }
    | {
        readonly event: 'token.refreshed'
        readonly scope: string
        readonly family_id: string
        /** The replaced token came back within REFRESH_TOKEN_REUSE_GRACE: the same successor. */
        readonly reuse_grace?: true
        /** The successor of a rotation whose answer never reached its client, handed out again. */
        readonly unconfirmed_rotation?: true
      }
    | {
        readonly event: 'token.refresh_refused'
        readonly family_id: string
        readonly reason: AuditRefusalReason
      }
    | {
        readonly event: 'token.revoked'
        readonly by: AuditActor
        /** What was revoked: one access token, or every token of a refresh family. */
        readonly token_type: 'access_token' | 'refresh_token'
        readonly family_id?: string | undefined
        /** The revoked access token's id (`jti`): names it, grants nothing. */
        readonly jti?: string
        /** Why the gateway itself revoked it (`by: 'gateway'`). */
        readonly reason?: 'sign_in_limit'
      }
    | {
        readonly event: 'refresh_token.reuse_detected'
        readonly family_id: string
        /** Another client presented the family's token (`client` is the family's own). */
        readonly presented_by_client_id?: string
      }
    | {
        readonly event: 'authorization_code.reuse_detected'
        readonly family_id?: string
        readonly presented_by_client_id?: string
      }
    | {
        readonly event: 'client.registered'
        readonly redirect_uris: readonly string[]
        readonly grant_types: readonly string[]
        readonly token_endpoint_auth_method: string
      }
    | { readonly event: 'client.updated'; readonly redirect_uris: readonly string[] }
    | { readonly event: 'client.deleted'; readonly by: AuditActor }
    | {
        readonly event: 'admin.tokens_revoked'
        /** What the operator named: a user (id or login), a client id, a family id. */
        readonly selector: {
          readonly user?: string | undefined
          readonly client?: string | undefined
          readonly family?: string | undefined
        }
        readonly families: number
        /** Codes and approved device codes not redeemed yet, revoked with them (when any). */
        readonly pending_grants?: number
      }
    | {
        readonly event: 'admin.signing_key_rotated'
        readonly kid: string
        /** Retired keys no longer published: their tokens can no longer live. */
        readonly dropped: readonly string[]
      }
    | { readonly event: 'admin.backup_written'; readonly file: string }
    | {
        readonly event: 'admin.backup_restored'
        readonly file: string
        readonly forced: boolean
        /** Keys written back (what was absent). */
        readonly restored: number
      }
    | { readonly event: 'admin.expired_purged'; readonly removed: number }
  )

export type AuditEventName = AuditEvent['event']

/**
 * An event as written: flat, with the user's id and login, the client's id and name, the caller's
 * address and the time, then the event's own fields.
 */
export interface AuditRecord {
  readonly event: AuditEventName
  readonly at: string
  /**
   * The event's own id (a random UUID): the same in the log line and the stream entry, and how a
   * reader tells an entry the stream holds twice (docs/audit.md, Failures). Absent in entries
   * recorded before it existed.
   */
  readonly id?: string
  readonly user_id?: string
  readonly login?: string
  readonly client_id?: string
  readonly client_name?: string
  /** The caller's address (X-Forwarded-For's last entry behind TRUST_PROXY), or `cli`. */
  readonly caller?: string
  readonly [field: string]: unknown
}
