import type { Clock } from '../clock.ts'
import type { Logger } from '../logger.ts'

/** The fields of one line; `reason` (else `error`) is what suppressed lines are counted by. */
export interface BoundedLogFields {
  readonly reason?: string | undefined
  readonly error?: string | undefined
  readonly [field: string]: unknown
}

export type BoundedLog = (level: 'info' | 'error', fields: BoundedLogFields) => void

/**
 * Lines of one event, at most `perSecond` a second; beyond that they are counted by reason and
 * told in one `<event>_suppressed` warning when the second is over. `/verify` has no rate limit
 * (the proxy asks it about every request), so without a bound one caller sending bad tokens as
 * fast as it can writes a line for each, to a log the host may keep whole. The metrics still
 * count every answer. `perSecond` 0 writes every line.
 */
export function boundedLog(
  logger: Logger,
  options: { readonly event: string; readonly perSecond: number; readonly clock: Clock }
): BoundedLog {
  const { event, perSecond, clock } = options
  let windowStartedAt = Number.NEGATIVE_INFINITY
  let written = 0
  let suppressed: Record<string, number> | undefined
  let suppressedCount = 0

  const tellSuppressed = (): void => {
    if (!suppressed) return
    logger.warn(
      {
        event: `${event}_suppressed`,
        suppressed: suppressedCount,
        reasons: suppressed,
        lines_per_second: perSecond,
      },
      `${suppressedCount} more ${event} lines in a second were not written`
    )
    suppressed = undefined
    suppressedCount = 0
  }

  return (level, fields) => {
    const now = clock.now()
    if (now - windowStartedAt >= 1000) {
      windowStartedAt = now
      written = 0
    }
    if (perSecond === 0 || written < perSecond) {
      written += 1
      logger[level]({ event, ...fields })
      return
    }
    if (!suppressed) {
      suppressed = {}
      // Told once the second is over, whether or not another refusal comes to tell it.
      setTimeout(tellSuppressed, Math.max(0, windowStartedAt + 1000 - now)).unref()
    }
    suppressedCount += 1
    const key = fields.reason ?? fields.error ?? 'other'
    suppressed[key] = (suppressed[key] ?? 0) + 1
  }
}
