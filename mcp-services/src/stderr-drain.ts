import type { Readable } from 'node:stream'

/** Longest piece of one stderr line put in one log entry; longer lines are split, never dropped. */
const MAX_PIECE = 16 * 1024

/**
 * Reads a child's stderr to the end and hands each line to `emit` (a long line in pieces). The
 * stream is always consumed, so a chatty child never blocks on a full pipe.
 */
export function drainLines(stream: Readable, emit: (line: string) => void): void {
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
  })
  stream.on('error', () => {})
}

function emitPieces(line: string, emit: (line: string) => void): void {
  for (let start = 0; start < line.length; start += MAX_PIECE) {
    emit(line.slice(start, start + MAX_PIECE))
  }
  if (line.length === 0) emit('')
}
