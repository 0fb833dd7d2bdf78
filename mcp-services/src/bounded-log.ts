import type { Logger } from './logger.ts'

/** The fields of one line; `reason` (else `error`) is what suppressed lines are counted by. */
export interface BoundedLogFields {
  readonly reason?: string | undefined
  readonly error?: string | undefined
  readonly [field: string]: unknown
}

export type BoundedLevel = 'info' | 'warn' | 'error'

export type BoundedLog = (
  level: BoundedLevel,
  event: string,
  fields: BoundedLogFields,
  message?: string
) => void

/**
 * Lines a request makes, at most `perSecond` a second of each event and level; beyond that they
 * are counted by reason and told in one `<event>_suppressed` line when the second is over (a
 * warning for info and warn lines, an error for errors). Such lines come as fast as anyone sends
 * requests: `/verify` has no rate limit at all (the proxy asks it about every request), most
 * endpoints refuse a request before any limit counts it, anything on the bridge's network can
 * knock without its secret, and every request during a store outage fails alike. Without a bound
 * one caller writes a line for each, to a log the host may keep whole. The metrics still count
 * every answer. `perSecond` 0 writes every line (`REFUSAL_LOG_RATE`, read by both servers).
 */
export function boundedLog(
  logger: Logger,
  options: { readonly perSecond: number; readonly now: () => number }
): BoundedLog {
  const { perSecond, now: timeNow } = options
  // Each event and level its own budget: a flood of refusals hides no outage's errors.
  const budgets = new Map<string, Budget>()
  let windowStartedAt = Number.NEGATIVE_INFINITY

  interface Budget {
    written: number
    suppressed: Record<string, number> | undefined
    count: number
    tell(): void
  }
  const budgetFor = (event: string, level: BoundedLevel): Budget => {
    const key = `${level} ${event}`
    let budget = budgets.get(key)
    if (budget) return budget
    const created: Budget = {
      written: 0,
      suppressed: undefined,
      count: 0,
      tell() {
        if (!created.suppressed) return
        logger[level === 'error' ? 'error' : 'warn'](
          {
            event: `${event}_suppressed`,
            suppressed: created.count,
            reasons: created.suppressed,
            lines_per_second: perSecond,
          },
          `${created.count} more ${event} lines in a second were not written`
        )
        created.suppressed = undefined
        created.count = 0
      },
    }
    budget = created
    budgets.set(key, budget)
    return budget
  }

  const write = (level: BoundedLevel, event: string, fields: BoundedLogFields, message?: string) =>
    logger[level]({ event, ...shortened(fields) }, message)

  return (level, event, fields, message) => {
    // A line the level leaves out is neither written nor counted as left out.
    if (!logger.isLevelEnabled(level)) return
    if (perSecond === 0) {
      write(level, event, fields, message)
      return
    }
    const now = timeNow()
    if (now - windowStartedAt >= 1000) {
      // A second's count is told with that second, not with the next one's.
      for (const each of budgets.values()) {
        each.tell()
        each.written = 0
      }
      windowStartedAt = now
    }
    const budget = budgetFor(event, level)
    if (budget.written < perSecond) {
      budget.written += 1
      write(level, event, fields, message)
      return
    }
    if (!budget.suppressed) {
      budget.suppressed = {}
      // Told once the second is over, whether or not another line comes to tell it.
      setTimeout(budget.tell, Math.max(0, windowStartedAt + 1000 - now)).unref()
    }
    budget.count += 1
    const reason = String(fields.reason ?? fields.error ?? 'other').slice(0, MAX_REASON)
    const known = Object.hasOwn(budget.suppressed, reason)
    const key = known || Object.keys(budget.suppressed).length < MAX_REASONS ? reason : 'other'
    budget.suppressed[key] = (budget.suppressed[key] ?? 0) + 1
  }
}

/**
 * A request's own words can reach these lines (a path, a header, a name), as long as the request
 * may be: kept to their first `MAX_FIELD` characters, with their length, so a line's size does
 * not follow what a client sends. Likewise the reasons a suppressed line counts by.
 */
const MAX_FIELD = 256
const MAX_REASON = 64
const MAX_REASONS = 20

function shortened(fields: BoundedLogFields): BoundedLogFields {
  let copy: Record<string, unknown> | undefined
  for (const [name, value] of Object.entries(fields)) {
    if (typeof value !== 'string' || value.length <= MAX_FIELD) continue
    copy ??= { ...fields }
    copy[name] = `${value.slice(0, MAX_FIELD)}…`
    copy[`${name}_length`] = value.length
  }
  return copy ?? fields
}
