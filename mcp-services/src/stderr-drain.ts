import type { Readable } from 'node:stream'

/** Longest piece of one stderr line put in one log entry; longer lines are split, never dropped. */
const MAX_PIECE = 16 * 1024

/**
 * A child's stderr logged per minute at most: a server that echoes its input to stderr would
 * otherwise let any of its users write the bridge's logs at will. Beyond it lines are read and
 * counted, not logged, and the count is logged once the minute is over.
 */
export const STDERR_LOG_BYTES_PER_MINUTE = 1024 * 1024
const WINDOW_MS = 60_000

/** What a child's stderr beyond the budget came to, in one window. */
export interface Suppressed {
  readonly lines: number
  readonly bytes: number
}

/**
 * `emit` within `bytesPerWindow` per minute; the lines beyond are counted and `suppressed` told
 * of them when a line arrives in a later window, or `flush` is called (the stream ended).
 */
export function logBudget(
  emit: (line: string) => void,
  suppressed: (counts: Suppressed) => void,
  options: { readonly bytesPerWindow: number; readonly now: () => number }
): { readonly emit: (line: string) => void; readonly flush: () => void } {
  let windowStart = options.now()
  let logged = 0
  let dropped = { lines: 0, bytes: 0 }
  const flush = () => {
    if (dropped.lines > 0) suppressed(dropped)
    dropped = { lines: 0, bytes: 0 }
  }
  return {
    emit(line) {
      const now = options.now()
      if (now - windowStart >= WINDOW_MS) {
        flush()
        windowStart = now
        logged = 0
      }
      if (logged + line.length > options.bytesPerWindow) {
        dropped = { lines: dropped.lines + 1, bytes: dropped.bytes + line.length }
        return
      }
      logged += line.length
      emit(line)
    },
    flush,
  }
}

/**
 * Reads a child's stderr to the end and hands each line to `emit` (a long line in pieces), then
 * calls `ended`. The stream is always consumed, so a chatty child never blocks on a full pipe.
 */
export function drainLines(
  stream: Readable,
  emit: (line: string) => void,
  ended: () => void = () => {}
): void {
  let pending = ''
  stream.setEncoding('utf8')
  stream.on('data', (chunk: string) => {
    pending += chunk
    let newline = pending.indexOf('\n')
    while (newline !== -1) {
      emitPieces(pending.slice(0, newline).replace(/\r$/, ''), emit)
      pending = pending.slice(newline + 1)
      newline = pending.indexOf('\n')
    }
    while (pending.length > MAX_PIECE) {
      emit(pending.slice(0, MAX_PIECE))
      pending = pending.slice(MAX_PIECE)
    }
  })
  stream.on('end', () => {
    if (pending) emitPieces(pending, emit)
    pending = ''
    ended()
  })
  stream.on('error', () => {})
}

function emitPieces(line: string, emit: (line: string) => void): void {
  for (let start = 0; start < line.length; start += MAX_PIECE) {
    emit(line.slice(start, start + MAX_PIECE))
  }
  if (line.length === 0) emit('')
}
