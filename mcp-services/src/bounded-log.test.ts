import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { type BoundedLevel, boundedLog } from './bounded-log.ts'
import { capturedLogs } from './testing/captured-logs.ts'
import { ManualClock } from './testing/manual-clock.ts'

describe('boundedLog', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  const setUp = (perSecond: number) => {
    const { logger, lines } = capturedLogs()
    const clock = new ManualClock()
    const bounded = boundedLog(logger, { perSecond, now: clock.now })
    const log = (level: BoundedLevel, fields: Record<string, string>) =>
      bounded(level, 'verify_denied', fields)
    return { lines, clock, log }
  }

  it('writes at most perSecond lines a second, then one line counting the rest by reason', () => {
    const { lines, clock, log } = setUp(3)
    for (let i = 0; i < 5; i += 1) log('info', { error: 'invalid_token', reason: 'signature' })
    log('info', { error: 'invalid_token' })
    expect(lines.filter((line) => line.event === 'verify_denied')).toHaveLength(3)
    // Errors have a budget of their own: an outage is not hidden by a flood of refusals.
    for (let i = 0; i < 4; i += 1)
      log('error', { error: 'temporarily_unavailable', reason: 'store' })
    expect(lines.filter((line) => line.level === 50)).toHaveLength(3)
    expect(lines.some((line) => line.event === 'verify_denied_suppressed')).toBe(false)

    clock.advance(1000)
    vi.advanceTimersByTime(1000)
    expect(lines.filter((line) => line.event === 'verify_denied_suppressed')).toEqual([
      expect.objectContaining({
        level: 40,
        suppressed: 3,
        reasons: { signature: 2, invalid_token: 1 },
        lines_per_second: 3,
      }),
      expect.objectContaining({ level: 50, suppressed: 1, reasons: { store: 1 } }),
    ])

    // A new second writes lines again, and is counted afresh.
    log('info', { error: 'invalid_token', reason: 'revoked' })
    expect(lines.at(-1)).toMatchObject({ event: 'verify_denied', reason: 'revoked' })
    vi.advanceTimersByTime(5000)
    expect(lines.filter((line) => line.event === 'verify_denied_suppressed')).toHaveLength(2)
  })

  it('gives warnings a budget of their own, told as a warning', () => {
    const { lines, clock, log } = setUp(2)
    for (let i = 0; i < 3; i += 1) log('info', { reason: 'signature' })
    for (let i = 0; i < 5; i += 1) log('warn', { reason: 'store_timeout' })
    expect(lines.filter((line) => line.level === 40)).toHaveLength(2)
    clock.advance(1000)
    vi.advanceTimersByTime(1000)
    expect(lines.filter((line) => line.event === 'verify_denied_suppressed')).toEqual([
      expect.objectContaining({ level: 40, suppressed: 1, reasons: { signature: 1 } }),
      expect.objectContaining({ level: 40, suppressed: 3, reasons: { store_timeout: 3 } }),
    ])
  })

  it("neither writes nor counts the lines its logger's level leaves out", () => {
    const { logger, lines } = capturedLogs('warn')
    const clock = new ManualClock()
    const bounded = boundedLog(logger, { perSecond: 1, now: clock.now })
    for (let i = 0; i < 5; i += 1) bounded('info', 'policy_denied', { reason: 'tool_refused' })
    clock.advance(1000)
    vi.advanceTimersByTime(1000)
    bounded('info', 'policy_denied', { reason: 'tool_refused' })
    expect(lines).toEqual([])
  })

  it("keeps a request's words in a line, and the reasons it counts, short", () => {
    const { lines, clock, log } = setUp(1)
    log('info', { reason: 'signature', path: `/${'p'.repeat(10_000)}` })
    for (let i = 0; i < 30; i += 1) log('info', { reason: `${i}-${'r'.repeat(1_000)}` })
    clock.advance(1000)
    vi.advanceTimersByTime(1000)
    expect(lines[0]).toMatchObject({ path: `/${'p'.repeat(255)}…`, path_length: 10_001 })
    const told = lines.find((line) => line.event === 'verify_denied_suppressed')
    const reasons = told?.reasons as Record<string, number>
    expect(Object.keys(reasons)).toHaveLength(21)
    expect(reasons.other).toBe(10)
    expect(Object.keys(reasons).every((reason) => reason.length <= 64)).toBe(true)
    expect(JSON.stringify(lines).length).toBeLessThan(3_000)
  })

  it('writes every line when perSecond is 0', () => {
    const { lines, log } = setUp(0)
    for (let i = 0; i < 100; i += 1) log('info', { reason: 'signature' })
    vi.advanceTimersByTime(2000)
    expect(lines.filter((line) => line.event === 'verify_denied')).toHaveLength(100)
    expect(lines.some((line) => line.event === 'verify_denied_suppressed')).toBe(false)
  })
})
