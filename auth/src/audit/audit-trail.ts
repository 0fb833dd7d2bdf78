import { AsyncLocalStorage } from 'node:async_hooks'
import { randomUUID } from 'node:crypto'
import type { Clock } from '../clock.ts'
import type { Logger } from '../logger.ts'
import { keys } from '../store/keys.ts'
import { storeFailureReason } from '../store/redis-failures.ts'
import { type Store, StoreUnavailable } from '../store/store.ts'
import { batchedAppend } from '../store/turn-batches.ts'
import { withRegisteredName } from './audit-client.ts'
import type { AuditEvent, AuditRecord } from './audit-events.ts'

export type { AuditEvent, AuditRecord } from './audit-events.ts'

/**
 * Where audited events go (docs/audit.md). Domain code calls `record` at the one place each event
 * happens and awaits it; it never throws: an event that cannot be kept in the stream is still on
 * standard output, and the request goes on.
 */
export interface AuditTrail {
  record(event: AuditEvent): Promise<void>
}

export interface AuditTrailParts {
  /** Audit lines go through it at `info`, whatever its level, marked `"audit": true`. */
  readonly logger: Logger
  readonly clock: Clock
  readonly store: Store
  /** Entries the store's audit stream keeps (`AUDIT_STREAM_MAX_LENGTH`); 0: no stream. */
  readonly streamMaxLength: number
  /** The caller of events recorded outside a request (`cli` for the admin CLI). */
  readonly caller?: string
}

/** An audit trail and how many events it could not keep in the stream since it was made. */
export interface CountingAuditTrail extends AuditTrail {
  readonly streamFailures: () => number
}

/** Events that may mean a leaked credential: written at `warn`, so alerts on warnings see them. */
const WARNINGS: ReadonlySet<AuditEvent['event']> = new Set([
  'refresh_token.reuse_detected',
  'authorization_code.reuse_detected',
])

/** The caller of the request being served (`http/audited-request.ts` sets it). */
const requestCaller = new AsyncLocalStorage<string>()

/**
 * Runs `work` as done for `caller` (an address), so events it records name that caller without
 * the request being passed around.
 */
export function onBehalfOf<T>(caller: string, work: () => T): T {
  return requestCaller.run(caller, work)
}

export function createAuditTrail(parts: AuditTrailParts): CountingAuditTrail {
  const { clock, store, streamMaxLength } = parts
  // A child at `info`: LOG_LEVEL=warn (or silent) quiets the logs, never the audit trail.
  const lines = parts.logger.child({ audit: true }, { level: 'info' })
  let failures = 0
  let failing = false
  const append = batchedAppend(store, keys.auditTrail(), streamMaxLength)

  const keep = async (record: AuditRecord) => {
    try {
      await append(JSON.stringify(record))
      if (failing) {
        failing = false
        parts.logger.warn(
          { event: 'audit_stream_recovered', failures },
          'the audit stream takes events again'
        )
      }
    } catch (error) {
      failures++
      // Once per outage: a full or unreachable store would otherwise log every request twice.
      if (!failing) {
        failing = true
        parts.logger.error(
          {
            event: 'audit_stream_failed',
            // The store's outage or a full store is no bug: why, in one line, without a stack.
            ...(error instanceof StoreUnavailable
              ? { cause: storeFailureReason(error) }
              : { err: error }),
          },
          'an audit event could not be kept in the store (it is on standard output); further failures are counted, not logged'
        )
      }
    }
  }

  return {
    async record(event) {
      const client = await withRegisteredName(store, clock, event.client)
      const record = toRecord({ ...event, client }, clock, requestCaller.getStore() ?? parts.caller)
      if (WARNINGS.has(event.event)) lines.warn(record)
      else lines.info(record)
      if (streamMaxLength > 0) await keep(record)
    },
    streamFailures: () => failures,
  }
}

/** The event made flat: who, which client, from where, when, then its own fields. */
function toRecord(event: AuditEvent, clock: Clock, caller: string | undefined): AuditRecord {
  const { event: name, user, client, ...fields } = event
  return {
    event: name,
    at: new Date(clock.now()).toISOString(),
    id: randomUUID(),
    ...(user ? { user_id: user.id } : {}),
    ...(user?.login ? { login: user.login } : {}),
    ...(client ? { client_id: client.client_id } : {}),
    ...(client?.metadata?.client_name ? { client_name: client.metadata.client_name } : {}),
    ...(caller ? { caller } : {}),
    ...fields,
  }
}
