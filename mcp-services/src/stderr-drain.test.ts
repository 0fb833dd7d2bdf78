import { describe, expect, it } from 'vitest'
import { startChild } from './child-process.ts'
import { createLogger } from './logger.ts'
import { logBudget, STDERR_LOG_BYTES_PER_MINUTE, type Suppressed } from './stderr-drain.ts'

describe('a child’s stderr in the logs', () => {
  it('never carries a GitHub token the child prints', async () => {
    const token = `gho_${'k3Y'.repeat(12)}`
    let logs = ''
    const logger = createLogger('info', { write: (chunk: string) => (logs += chunk) })
    const child = await startChild(
      {
        command: process.execPath,
        args: ['-e', "console.error('using ' + process.env.GITHUB_TOKEN + ' now')"],
        env: { GITHUB_TOKEN: token },
      },
      logger
    )
    await child.exited
    await expect.poll(() => logs).toContain('now')
    expect(logs).toContain('using [redacted] now')
    expect(logs).not.toContain(token)
  })

  it('logs at most its budget a minute, and then how much it left out', async () => {
    let logs = ''
    const logger = createLogger('info', { write: (chunk: string) => (logs += chunk) })
    const written = 3 * STDERR_LOG_BYTES_PER_MINUTE
    const child = await startChild(
      {
        command: process.execPath,
        args: ['-e', `process.stderr.write(('e'.repeat(1023) + '\\n').repeat(${written / 1024}))`],
        env: {},
      },
      logger
    )
    await child.exited
    await expect.poll(() => logs).toContain('stderr_suppressed')
    const lines = logs
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>)
    const logged = lines.filter((line) => line.stream === 'stderr')
    expect(logged.length * 1023).toBeLessThanOrEqual(STDERR_LOG_BYTES_PER_MINUTE)
    const summary = lines.find((line) => line.event === 'stderr_suppressed')
    expect(logged.length + Number(summary?.lines)).toBe(written / 1024)
  })
})

describe('logBudget', () => {
  it('counts what is over the budget and says so when the minute is over, or at the end', () => {
    let now = 0
    const emitted: string[] = []
    const told: Suppressed[] = []
    const budget = logBudget(
      (line) => emitted.push(line),
      (counts) => told.push(counts),
      { bytesPerWindow: 10, now: () => now }
    )
    for (const line of ['12345', '12345', 'x', 'yy']) budget.emit(line)
    expect(emitted).toEqual(['12345', '12345'])
    expect(told).toEqual([])
    now = 60_000
    budget.emit('next')
    expect(told).toEqual([{ lines: 2, bytes: 3 }])
    expect(emitted).toEqual(['12345', '12345', 'next'])
    budget.emit('1234567')
    budget.flush()
    expect(told).toEqual([
      { lines: 2, bytes: 3 },
      { lines: 1, bytes: 7 },
    ])
    budget.flush()
    expect(told).toHaveLength(2)
  })
})
