import { describe, expect, it } from 'vitest'
import { startChild } from './child-process.ts'
import { createLogger } from './logger.ts'

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
})
