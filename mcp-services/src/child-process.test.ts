import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { startChild } from './child-process.ts'

const logger = pino({ level: 'silent' })

/** A shell that leaves a subprocess holding its stdout and stderr, as `cmd &` does. */
const leavesSubprocess = (then: string) => ({
  command: '/bin/sh',
  args: ['-c', `sleep 15 & ${then}`],
  env: {},
})

describe('startChild', () => {
  it('has ended when its process has, though a process it left holds its pipes', async () => {
    const started = performance.now()
    const child = await startChild(
      leavesSubprocess(`echo '{"jsonrpc":"2.0","method":"notifications/hello"}'; exit 0`),
      logger
    )
    const messages: unknown[] = []
    child.onmessage = (message) => messages.push(message)
    await child.exited
    expect(child.hasExited).toBe(true)
    expect(performance.now() - started).toBeLessThan(5000)
    // What it wrote before it ended is still read.
    await expect.poll(() => messages).toEqual([{ jsonrpc: '2.0', method: 'notifications/hello' }])
  })

  it('closes within its SIGTERM step, and gives its id back, whatever it left running', async () => {
    let exitCalls = 0
    const child = await startChild(
      { ...leavesSubprocess('sleep 30'), onExit: () => (exitCalls += 1) },
      logger
    )
    const started = performance.now()
    await child.close()
    expect(child.hasExited).toBe(true)
    expect(child.closeRequested).toBe(true)
    expect(performance.now() - started).toBeLessThan(5000)
    await expect.poll(() => exitCalls).toBe(1)
  })

  it('rejects a command that cannot be spawned, and gives its id back', async () => {
    let exitCalls = 0
    await expect(
      startChild(
        { command: '/nonexistent/mcp-server', args: [], env: {}, onExit: () => (exitCalls += 1) },
        logger
      )
    ).rejects.toThrow(/ENOENT/)
    await expect.poll(() => exitCalls).toBe(1)
  })
})
