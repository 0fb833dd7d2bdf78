import { keys } from '../store/keys.ts'
import type { Store } from '../store/store.ts'
import type { AuditRecord } from './audit-events.ts'

export interface AuditQuery {
  /** A user id, or a login (any case). */
  readonly user?: string | undefined
  readonly client?: string | undefined
  /** An event name (`token.issued`), or a family of them (`token.`, `admin.`). */
  readonly event?: string | undefined
  /** Only events recorded at or after this time (ms since the epoch). */
  readonly since?: number | undefined
  /** At most this many events: the newest that match. */
  readonly limit: number
}

/** Stream entries read per round trip. */
const PAGE = 500

/**
 * The newest audit records that match, oldest first (as a log reads), from the store's audit
 * stream. The stream is read newest first, a page at a time, until enough matched or the records
 * are older than `since`; entries that are not audit records are skipped, and so is an entry
 * the stream holds twice (its record's `id` seen already: a write Redis ran on waking from a
 * stall, and again as the gateway sent it on its new connection).
 */
export async function readAuditTrail(store: Store, query: AuditQuery): Promise<AuditRecord[]> {
  const found: AuditRecord[] = []
  const seen = new Set<string>()
  let before: string | undefined
  while (found.length < query.limit) {
    const page = await store.readStream(keys.auditTrail(), PAGE, before)
    for (const { entry } of page) {
      const record = parseRecord(entry)
      if (!record) continue
      if (record.id !== undefined) {
        if (seen.has(record.id)) continue
        seen.add(record.id)
      }
      if (query.since !== undefined && Date.parse(record.at) < query.since) return found.reverse()
      if (matches(record, query)) found.push(record)
      if (found.length === query.limit) break
    }
    if (page.length < PAGE) break
    before = page.at(-1)?.id
  }
  return found.reverse()
}

function matches(record: AuditRecord, query: AuditQuery): boolean {
  const { user, client, event } = query
  if (user && record.user_id !== user && record.login?.toLowerCase() !== user.toLowerCase()) {
    return false
  }
  if (client && record.client_id !== client) return false
  if (event && !(event.endsWith('.') ? record.event.startsWith(event) : record.event === event)) {
    return false
  }
  return true
}

function parseRecord(entry: string): AuditRecord | undefined {
  try {
    const record = JSON.parse(entry) as Partial<AuditRecord> | null
    return typeof record?.event === 'string' && typeof record.at === 'string'
      ? (record as AuditRecord)
      : undefined
  } catch {
    return undefined
  }
}
