import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'
import { getDefaultEnvironment } from '@modelcontextprotocol/sdk/client/stdio.js'
import { serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js'
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js'
import type { Logger } from 'pino'
import { readMessages } from './child-stdout.ts'
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
  /**
   * Queues one message for the child's stdin; rejects when the child has ended, or for a
   * notification or response when it leaves more than `MAX_QUEUED_INPUT_BYTES` unread.
   */
  send(message: JSONRPCMessage): Promise<void>
  /** Called for every message the child writes. */
  onmessage: ((message: JSONRPCMessage) => void) | undefined
  /** Bytes written to the child's stdin that it has not read yet. */
  readonly inputBacklog: number
  /** Resolves once the process has ended, however it ended. */
  readonly exited: Promise<void>
  readonly hasExited: boolean
  /** `close()` was called while the process ran: its exit was asked for, not a crash. */
  readonly closeRequested: boolean
  /**
   * Ends the child: stdin closed, then SIGTERM, then SIGKILL, 2 s apart (as the SDK's); gives up
   * waiting 2 s after SIGKILL (a signal the bridge may not send), saying so in the log.
   */
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
 * What may wait in the child's stdin unread before a notification or a response for it is
 * refused: two of the largest bodies. A child that stops reading its input would otherwise make
 * the bridge hold every such message, which a client is answered 202 for before the child reads
 * it. Requests are not refused here: the bridge's in-hand bounds count their bytes until their
 * answer starts (`requests-in-hand.ts`), and a burst of them is what a child reads in turn.
 */
export const MAX_QUEUED_INPUT_BYTES = 8 * 1024 * 1024

/** Lines of a child's stdout that are no JSON-RPC message, logged a minute at most (in bytes). */
const BAD_LINE_LOG_BYTES_PER_MINUTE = 64 * 1024

/**
 * Spawns the child and resolves once it runs; rejects if it cannot be spawned at all. The child
 * has ended when its process has (`exit`), not when its pipes close: the SDK's transport waits
 * for those, which a process the child left behind can hold open for ever, and a session, the
 * bridge's shutdown and the release of the child's user id would wait with it.
 */
export async function startChild(spec: ChildSpec, logger: Logger): Promise<ChildConnection> {
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
  if (spec.onExit) void exited.then(spec.onExit)

  let child: ChildProcessWithoutNullStreams
  try {
    child = spawn(spec.command, [...spec.args], {
      // The SDK's minimal inherited environment (HOME, PATH, ...), never the whole of ours.
      env: { ...getDefaultEnvironment(), ...spec.env },
      stdio: ['pipe', 'pipe', 'pipe'],
      shell: false,
      ...(spec.cwd === undefined ? {} : { cwd: spec.cwd }),
    })
  } catch (error) {
    // An argument or environment value Node refuses (a NUL byte) throws before any process.
    ended()
    throw error
  }
  let childLogger = logger
  drainStderr(child, () => childLogger)
  child.once('exit', () => {
    ended()
    const letGo = setTimeout(() => {
      child.stdout.destroy()
      child.stderr.destroy()
    }, PIPES_AFTER_EXIT_MS)
    letGo.unref()
    child.once('close', () => clearTimeout(letGo))
  })

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

  /** Ends the process; `asked`: the bridge's choice, not the child's failure (`closeRequested`). */
  const end = async (asked: boolean): Promise<void> => {
    if (hasExited) return
    if (asked) closeRequested = true
    child.stdin.end()
    for (const signal of ['SIGTERM', 'SIGKILL', undefined] as const) {
      await Promise.race([exited, sleep(CLOSE_STEP_MS, undefined, { ref: false })])
      if (hasExited) return
      if (signal) child.kill(signal)
    }
    childLogger.warn(
      { event: 'child_not_ended' },
      'the MCP server process did not end after SIGKILL (the bridge needs the KILL capability to end a server of another user)'
    )
  }

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
    get inputBacklog() {
      return child.stdin.writableLength
    },
    async send(message) {
      const queued = child.stdin.writableLength
      // Refused without a line of its own: a client can send these as fast as it likes.
      if (queued > MAX_QUEUED_INPUT_BYTES && !('method' in message && 'id' in message)) {
        throw new Error(`the MCP server is not reading its input (${queued} bytes wait)`)
      }
      try {
        if (hasExited || !child.stdin.writable) throw new Error('Not connected')
        child.stdin.write(serializeMessage(message))
      } catch (error) {
        // Logged here with its cause; the caller answers the request without it.
        childLogger.warn({ err: error }, 'could not write to the MCP server process')
        throw error
      }
    },
    close: () => end(true),
  }
  const badLines = logBudget(
    (line) => childLogger.warn({ event: 'child_stdout_not_json_rpc' }, line),
    (counts) => childLogger.warn({ event: 'child_stdout_suppressed', ...counts }),
    { bytesPerWindow: BAD_LINE_LOG_BYTES_PER_MINUTE, now: Date.now }
  )
  // What was held back is told once the child is gone, as its stderr's is.
  void exited.then(badLines.flush)
  readMessages(child.stdout, {
    onMessage: (message) => connection.onmessage?.(message),
    onBadLine: (error) =>
      badLines.emit(`a line on stdout is no JSON-RPC message: ${error.message}`),
    onOverflow: (bytes) => {
      childLogger.warn(
        { event: 'child_stdout_overflow', bytes },
        'the MCP server wrote a line longer than 10 MiB: it is ended'
      )
      // Its failure, not the bridge's choice: counted against its user like a crash.
      void end(false)
    },
  })
  return connection
}

/** The child's stderr into the log, a budget a minute (`stderr-drain.ts`). */
function drainStderr(child: ChildProcessWithoutNullStreams, logger: () => Logger): void {
  const budget = logBudget(
    (line) => logger().info({ stream: 'stderr' }, line),
    (counts) =>
      logger().warn(
        { event: 'stderr_suppressed', ...counts },
        `the MCP server wrote more than ${STDERR_LOG_BYTES_PER_MINUTE} bytes to stderr in a minute: the rest was not logged`
      ),
    { bytesPerWindow: STDERR_LOG_BYTES_PER_MINUTE, now: Date.now }
  )
  drainLines(child.stderr, budget.emit, budget.flush)
}
