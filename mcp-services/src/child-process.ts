import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { getDefaultEnvironment } from '@modelcontextprotocol/sdk/client/stdio.js'
import { ReadBuffer, serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js'
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
 * One running stdio MCP server, spoken to as the SDK's stdio transport does (a JSON-RPC message a
 * line on stdin and stdout, the SDK's own framing); stderr drained into the logs.
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
  /** Ends the child: stdin closed, then SIGTERM, then SIGKILL, 2 s apart (as the SDK's). */
  close(): Promise<void>
}

/** How long each step of `close()` waits for the process to end before the next one. */
const CLOSE_STEP_MS = 2000

/**
 * After the process has ended, how long its pipes may stay open: a process it left behind may
 * hold them (a subprocess sharing its stdout, `cmd &` in a wrapper). Its last messages, written
 * before it ended, are read in that time; then the pipes are let go.
 */
const PIPES_AFTER_EXIT_MS = 1000

/**
 * Spawns the child and resolves once it runs; rejects if it cannot be spawned at all. The child
 * has ended when its process has (`exit`), not when its pipes close: the SDK's transport waits
 * for those, which a process the child left behind can hold open for ever, and a session, the
 * bridge's shutdown and the release of the child's user id would wait with it.
 */
export async function startChild(spec: ChildSpec, logger: Logger): Promise<ChildConnection> {
  const child: ChildProcessWithoutNullStreams = spawn(spec.command, [...spec.args], {
    // The SDK's minimal inherited environment (HOME, PATH, ...), never the whole of ours.
    env: { ...getDefaultEnvironment(), ...spec.env },
    stdio: ['pipe', 'pipe', 'pipe'],
    shell: false,
    ...(spec.cwd === undefined ? {} : { cwd: spec.cwd }),
  })
  let childLogger = logger
  const budget = logBudget(
    (line) => childLogger.info({ stream: 'stderr' }, line),
    (counts) =>
      childLogger.warn(
        { event: 'stderr_suppressed', ...counts },
        `the MCP server wrote more than ${STDERR_LOG_BYTES_PER_MINUTE} bytes to stderr in a minute: the rest was not logged`
      ),
    { bytesPerWindow: STDERR_LOG_BYTES_PER_MINUTE, now: Date.now }
  )
  drainLines(child.stderr, budget.emit, budget.flush)

  let hasExited = false
  let closeRequested = false
  let markExited: () => void = () => {}
  const exited = new Promise<void>((resolve) => {
    markExited = resolve
  })
  const ended = (): void => {
    if (hasExited) return
    hasExited = true
    markExited()
  }
  child.once('exit', () => {
    ended()
    const letGo = setTimeout(() => {
      child.stdout.destroy()
      child.stderr.destroy()
    }, PIPES_AFTER_EXIT_MS)
    letGo.unref()
    child.once('close', () => clearTimeout(letGo))
  })
  if (spec.onExit) void exited.then(spec.onExit)

  try {
    await new Promise<void>((resolve, reject) => {
      const spawned = () => {
        child.off('error', failed)
        resolve()
      }
      const failed = (error: Error) => {
        child.off('spawn', spawned)
        reject(error)
      }
      child.once('spawn', spawned)
      child.once('error', failed)
    })
  } catch (error) {
    ended()
    throw error
  }
  childLogger = logger.child({ pid: child.pid })
  // Errors after the spawn (a pipe broken by the child's end) are logged; its end is told by `exit`.
  const logError = (error: Error) => childLogger.warn({ err: error }, 'child transport error')
  child.on('error', logError)
  child.stdin.on('error', logError)
  child.stdout.on('error', logError)

  const readBuffer = new ReadBuffer()
  const connection: ChildConnection = {
    pid: child.pid ?? -1,
    onmessage: undefined,
    exited,
    get hasExited() {
      return hasExited
    },
    get closeRequested() {
      return closeRequested
    },
    // Logged here with its cause; the caller answers the request without it.
    async send(message) {
      try {
        if (hasExited || !child.stdin.writable) throw new Error('Not connected')
        if (!child.stdin.write(serializeMessage(message))) await once(child.stdin, 'drain')
      } catch (error) {
        childLogger.warn({ err: error }, 'could not write to the MCP server process')
        throw error
      }
    },
    async close() {
      if (hasExited) return
      closeRequested = true
      child.stdin.end()
      for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
        await Promise.race([exited, sleep(CLOSE_STEP_MS, undefined, { ref: false })])
        if (hasExited) return
        child.kill(signal)
      }
      await exited
    },
  }
  child.stdout.on('data', (chunk: Buffer) => {
    try {
      readBuffer.append(chunk)
    } catch (error) {
      // More than the SDK's bound without a line end: no MCP server, or a broken one.
      logError(error as Error)
      void connection.close()
      return
    }
    for (;;) {
      let message: JSONRPCMessage | null
      try {
        message = readBuffer.readMessage()
      } catch (error) {
        logError(error as Error)
        continue
      }
      if (message === null) break
      connection.onmessage?.(message)
    }
  })
  return connection
}
