import { describe, expect, it } from 'vitest'
import { runSoak, type SoakSummary } from '../../scripts/soak/soak.ts'

/**
 * The CI version of `npm run soak`: 60 s at a rate a loaded 2-core machine holds beside the
 * other test files (the gateway, its Redis and the load generator share the two cores).
 */
const RATE = 200
const SECONDS = 60
const FAMILIES = 20
/** REFRESH_TOKEN_REUSE_GRACE (default): how long a rotation's successor is kept. */
const GRACE_SECONDS = 30

describe(`npm run soak at ${RATE} req/s for ${SECONDS} s`, () => {
  it('holds the rate without an error, and Redis does not keep a key per rotation', async () => {
    const lines: string[] = []
    const summary: SoakSummary = await runSoak({
      rate: RATE,
      durationSeconds: SECONDS,
      intervalSeconds: 10,
      families: FAMILIES,
      print: (line) => lines.push(line),
    })
    const report = lines.join('\n')
    expect(summary.errors, report).toBe(0)
    expect(summary.achievedRate, report).toBeGreaterThanOrEqual(RATE * 0.9)
    expect(summary.late, report).toBeLessThanOrEqual(summary.sent * 0.01)
    // 4% of the mix refreshes: a real rotation of each family every few seconds.
    expect(summary.answered.refresh, report).toBeGreaterThan(RATE * SECONDS * 0.03)

    const { keysBefore: before, keysAfter: after, answered } = summary
    const grown = (kind: string) => (after[kind] ?? 0) - (before[kind] ?? 0)
    // Rotations keep nothing but the grace's successor, which expires with the grace.
    expect(grown('refresh-rotated'), report).toBeLessThanOrEqual(0)
    const successors = Math.ceil(RATE * 0.04 * (GRACE_SECONDS + 5))
    expect(after['refresh-successor'] ?? 0, report).toBeLessThanOrEqual(successors)
    expect(grown('family'), report).toBe(0)
    expect(grown('refresh'), report).toBe(0)
    // What the churn leaves on purpose: revocation markers, the registrations not yet deleted.
    const churn = answered.register + answered.revoke + answered.delete
    const total = (keys: Record<string, number>) =>
      Object.values(keys).reduce((sum, count) => sum + count, 0)
    expect(total(after) - total(before), report).toBeLessThanOrEqual(successors + churn + 20)
  }, 240_000)
})
