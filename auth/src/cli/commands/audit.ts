import type { AuditRecord } from '../../audit/audit-events.ts'
import { readAuditTrail } from '../../audit/read-audit-trail.ts'
import { type CommandContext, type CommandResult, parseCommandLine } from '../cli-context.ts'
import { type UsageLine, usageError, usageText } from '../command.ts'

export const auditUsage: readonly UsageLine[] = [
  {
    form: 'audit [--user U] [--client C] [--event E|prefix.] [--since 2026-11-30|12h] [--limit 50]',
    about: 'the newest audit events kept in the store, oldest first',
  },
]

const MAX_LIMIT = 10_000
const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/**
 * `audit`: the newest audit events kept in the store's stream (AUDIT_STREAM_MAX_LENGTH), oldest
 * first, filtered by user, client, event and time. The full trail is the gateway's standard output.
 */
export async function auditCommand(
  context: CommandContext,
  args: readonly string[]
): Promise<CommandResult> {
  const { values, positionals } = parseCommandLine(
    args,
    {
      user: { type: 'string' },
      client: { type: 'string' },
      event: { type: 'string' },
      since: { type: 'string' },
      limit: { type: 'string', default: '50' },
    },
    usageText(auditUsage)
  )
  if (positionals.length > 0) throw usageError(auditUsage, `unexpected word ${positionals[0]}`)
  const limit = /^\d+$/.test(values.limit) ? Number(values.limit) : Number.NaN
  if (!(limit >= 1 && limit <= MAX_LIMIT)) {
    throw usageError(auditUsage, `--limit: a whole number from 1 to ${MAX_LIMIT}`)
  }
  for (const filter of ['user', 'client', 'event'] as const) {
    // An empty filter would match everything: a script's empty variable, not a wish.
    if (values[filter] === '') throw usageError(auditUsage, `--${filter}: empty`)
  }
  const since = values.since === undefined ? undefined : parseSince(values.since, context)
  const records = await readAuditTrail(context.store, {
    user: values.user,
    client: values.client,
    event: values.event,
    since,
    limit,
  })
  const off =
    context.config.auditStreamMaxLength === 0
      ? 'AUDIT_STREAM_MAX_LENGTH=0: the gateway keeps no audit events in the store; they are on its standard output'
      : undefined
  const text = records.length
    ? records.map(recordLine).join('\n')
    : (off ?? 'no audit events match')
  return { data: records, text }
}

/** An ISO 8601 time, or a duration back from now (`30m`, `12h`, `7d`). */
function parseSince(value: string, context: CommandContext): number {
  const relative = /^(\d+)([smhd])$/.exec(value)
  if (relative) return context.clock.now() - Number(relative[1]) * (UNITS[relative[2] ?? ''] ?? 0)
  const time = Date.parse(value)
  if (Number.isNaN(time)) throw usageError(auditUsage, '--since: not a time or a duration')
  return time
}

/** Fields the line shows up front, and the record's `id`, which only `--json` shows. */
const LEAD_FIELDS = new Set([
  'event',
  'at',
  'id',
  'user_id',
  'login',
  'client_id',
  'client_name',
  'caller',
])

/**
 * `<at>  <event>  <login> (<id>)  client "<name>" (<id>)  from <caller>  key=value…`, the client
 * as `client <id>` when it has no name (none registered, or a metadata document's URL).
 */
function recordLine(record: AuditRecord): string {
  const who = record.user_id ? `${record.login ?? '?'} (${record.user_id})` : undefined
  const client = record.client_id
    ? record.client_name
      ? `client ${JSON.stringify(record.client_name)} (${record.client_id})`
      : `client ${record.client_id}`
    : undefined
  const rest = Object.entries(record)
    .filter(([key]) => !LEAD_FIELDS.has(key))
    .map(([key, value]) => `${key}=${bare(value)}`)
  return [
    record.at,
    record.event,
    who,
    client,
    record.caller ? `from ${record.caller}` : undefined,
    ...rest,
  ]
    .filter((part) => part !== undefined)
    .join('  ')
}

/** Plain words as they are; anything else (spaces, quotes, control characters) JSON-quoted. */
function bare(value: unknown): string {
  return typeof value === 'string' && /^[\w.:/@+-]*$/.test(value) ? value : JSON.stringify(value)
}
