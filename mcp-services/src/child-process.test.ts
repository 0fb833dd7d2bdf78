import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { MAX_QUEUED_INPUT_BYTES, startChild } from './child-process.ts'

const logger = pino({ level: 'silent' })

/** A shell that leaves a subprocess holding its stdout and stderr, as `cmd &` does. */
const leavesSubprocess = (then: string) => ({
  command: '/bin/sh',
  args: ['-c', `sleep 6 & ${then}`],
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
      { ...leavesSubprocess('sleep 6'), onExit: () => (exitCalls += 1) },
      logger
    )
    const started = performance.now()
    await child.close()
    expect(child.hasExited).toBe(true)
    expect(child.closeRequested).toBe(true)
    expect(performance.now() - started).toBeLessThan(5000)
    await expect.poll(() => exitCalls).toBe(1)
  })

  it('ends a server that ignores SIGTERM with SIGKILL, 4 s after asking', async () => {
    // The ignored signal is inherited across exec: the server itself ignores it.
    const child = await startChild(
      { command: '/bin/sh', args: ['-c', 'trap "" TERM; exec sleep 9'], env: {} },
      logger
    )
    const started = performance.now()
    await child.close()
    const took = performance.now() - started
    expect(child.hasExited).toBe(true)
    expect(took).toBeGreaterThan(3500)
    expect(took).toBeLessThan(6500)
  })

  it('refuses to queue more notifications for a server that does not read its input', async () => {
    const child = await startChild(
      { command: '/bin/sh', args: ['-c', 'exec sleep 9'], env: {} },
      logger
    )
    try {
      const message = {
        jsonrpc: '2.0' as const,
        method: 'notifications/pad',
        params: { pad: 'x'.repeat(1024 * 1024) },
      }
      const results = []
      for (let i = 0; i < 12; i += 1) {
        results.push(
          await child.send(message).then(
            () => 'sent',
            () => 'refused'
          )
        )
      }
      const sent = results.filter((result) => result === 'sent').length
      expect(sent).toBeGreaterThanOrEqual(MAX_QUEUED_INPUT_BYTES / (1024 * 1024))
      expect(sent).toBeLessThan(12)
      expect(results.slice(sent)).toEqual(Array(12 - sent).fill('refused'))
      expect(child.inputBacklog).toBeGreaterThan(MAX_QUEUED_INPUT_BYTES)
      // A request is queued still: the bridge counts its bytes in hand until it is answered.
      await child.send({ jsonrpc: '2.0', id: 1, method: 'ping' })
    } finally {
      await child.close()
    }
  })

  it('rejects a command that cannot be spawned, and gives its id back', async () => {
    let exitCalls = 0
    await expect(
      startChild(
        { command: '/nonexistent/mcp-server', args: [], env: {}, onExit: () => (exitCalls += 1) },
        logger
      )
    ).rejects.toThrow(/ENOENT/)
    // A value Node refuses before any process starts.
    await expect(
      startChild(
        { command: '/bin/true', args: [], env: { X: 'a\0b' }, onExit: () => (exitCalls += 1) },
        logger
      )
    ).rejects.toThrow()
    await expect.poll(() => exitCalls).toBe(2)
  })
})
