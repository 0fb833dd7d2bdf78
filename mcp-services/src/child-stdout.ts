import type { Readable } from 'node:stream'
import {
  deserializeMessage,
  STDIO_DEFAULT_MAX_BUFFER_SIZE,
} from '@modelcontextprotocol/sdk/shared/stdio.js'
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js'

/** What reading a child's stdout tells its owner, besides the messages. */
export interface StdoutEvents {
  onMessage(message: JSONRPCMessage): void
  /** A line that is no JSON-RPC message (the SDK's framing skips it too). */
  onBadLine(error: Error, bytes: number): void
  /** A line longer than the SDK's bound without its end: no MCP server, or a broken one. */
  onOverflow(bytes: number): void
}

/**
 * Reads a stdio MCP server's stdout as the SDK frames it (a JSON-RPC message a line, a trailing
 * CR allowed, at most 10 MiB a line), in linear time: each chunk is searched for line ends once,
 * and a long line's pieces are joined once. The SDK's reader joins and searches the whole
 * buffer at every chunk, which cost 1.2 s of the event loop for one 9 MiB answer.
 */
export function readMessages(stdout: Readable, events: StdoutEvents): void {
  let pending: Buffer[] = []
  let pendingBytes = 0
  const lineOf = (piece: Buffer): Buffer => {
    if (pending.length === 0) return piece
    const line = Buffer.concat([...pending, piece], pendingBytes + piece.length)
    pending = []
    pendingBytes = 0
    return line
  }
  stdout.on('data', (chunk: Buffer) => {
    let start = 0
    for (let end = chunk.indexOf(0x0a); end !== -1; end = chunk.indexOf(0x0a, start)) {
      const line = lineOf(chunk.subarray(start, end))
      start = end + 1
      const text = line.toString('utf8', 0, line.at(-1) === 0x0d ? line.length - 1 : line.length)
      if (text === '') continue
      let message: JSONRPCMessage
      try {
        message = deserializeMessage(text)
      } catch (error) {
        events.onBadLine(error as Error, line.length)
        continue
      }
      events.onMessage(message)
    }
    if (start === chunk.length) return
    pendingBytes += chunk.length - start
    if (pendingBytes > STDIO_DEFAULT_MAX_BUFFER_SIZE) {
      const bytes = pendingBytes
      pending = []
      pendingBytes = 0
      stdout.destroy()
      events.onOverflow(bytes)
      return
    }
    pending.push(chunk.subarray(start))
  })
}
