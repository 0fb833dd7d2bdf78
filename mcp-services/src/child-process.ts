import type { Readable } from 'node:stream'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js'
import type { Logger } from 'pino'
import { drainLines, logBudget, STDERR_LOG_BYTES_PER_MINUTE } from './stderr-drain.ts'

/** How to start one stdio MCP server. */
export interface ChildSpec {
  readonly command: string
  readonly args: readonly string[]
  /** Added to the SDK's minimal inherited environment (HOME, PATH, ...), never the whole of ours. */
  readonly env: Readonly<Record<string, string>>
  readonly cwd?: string
  /**
   * Called once the process has ended, or could not be started: what the spec held for the
   * child's life (its own user id) is given back.
   */
  readonly onExit?: () => void
}

/**
 * One running stdio MCP server, spoken to through the SDK's `StdioClientTransport`: messages
 * written to its stdin, read line by line from its stdout, stderr drained into the logs.
 */
export interface ChildConnection {
  readonly pid: number
  /** Writes one message to the child's stdin (waits for the pipe to drain). */
  send(message: JSONRPCMessage): Promise<void>
  /** Called for every message the child writes. */
  onmessage: ((message: JSONRPCMessage) => void) | undefined
  /** Resolves once the process has ended, however it ended. */
  readonly exited: Promise<void>
  readonly hasExited: boolean
  /** `close()` was called while the process ran: its exit was asked for, not a crash. */
  readonly closeRequested: boolean
  /** Ends the child: stdin closed, then SIGTERM, then SIGKILL (the SDK's stdio shutdown). */
  close(): Promise<void>
}

/** Spawns the child and resolves once it runs; rejects if it cannot be spawned at all. */
export async function startChild(spec: ChildSpec, logger: Logger): Promise<ChildConnection> {
  const transport = new StdioClientTransport({
    command: spec.command,
    args: [...spec.args],
    env: { ...spec.env },
    stderr: 'pipe',
    ...(spec.cwd === undefined ? {} : { cwd: spec.cwd }),
  })
  // With stderr: 'pipe' the SDK hands out a PassThrough before the process exists.
  const stderr = transport.stderr as Readable | null
  let childLogger = logger
  if (stderr) {
    const budget = logBudget(
      (line) => childLogger.info({ stream: 'stderr' }, line),
      (counts) =>
        childLogger.warn(
          { event: 'stderr_suppressed', ...counts },
          `the MCP server wrote more than ${STDERR_LOG_BYTES_PER_MINUTE} bytes to stderr in a minute: the rest was not logged`
        ),
      { bytesPerWindow: STDERR_LOG_BYTES_PER_MINUTE, now: Date.now }
    )
    drainLines(stderr, budget.emit, budget.flush)
  }

  let hasExited = false
  let closeRequested = false
  let markExited: () => void = () => {}
  const exited = new Promise<void>((resolve) => {
    markExited = resolve
  })
  transport.onclose = () => {
    hasExited = true
    markExited()
  }
  transport.onerror = (error) => childLogger.warn({ err: error }, 'child transport error')
  if (spec.onExit) void exited.then(spec.onExit)

  try {
    await transport.start()
  } catch (error) {
    hasExited = true
    markExited()
    throw error
  }
  const pid = transport.pid ?? -1
  childLogger = logger.child({ pid })

  const connection: ChildConnection = {
    pid,
    onmessage: undefined,
    exited,
    get hasExited() {
      return hasExited
    },
    get closeRequested() {
      return closeRequested
    },
    // Logged here with its cause; the caller answers the request without it.
    send: (message) =>
      transport.send(message).catch((error: unknown) => {
        childLogger.warn({ err: error }, 'could not write to the MCP server process')
        throw error
      }),
    async close() {
      if (hasExited) return
      closeRequested = true
      await transport.close()
      await exited
    },
  }
  transport.onmessage = (message) => connection.onmessage?.(message)
  return connection
}
