import { PassThrough } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { readMessages } from './child-stdout.ts'

function reader() {
  const stdout = new PassThrough()
  const seen = { messages: [] as unknown[], badLines: 0, overflow: 0 }
  readMessages(stdout, {
    onMessage: (message) => seen.messages.push(message),
    onBadLine: () => (seen.badLines += 1),
    onOverflow: (bytes) => (seen.overflow = bytes),
  })
  return { stdout, seen }
}

const ping = (id: number) => JSON.stringify({ jsonrpc: '2.0', id, method: 'ping' })

describe("readMessages: a child's stdout as the SDK frames it", () => {
  it('reads a message a line, across chunks, with CR LF too, and skips what is no message', () => {
    const { stdout, seen } = reader()
    const second = ping(2)
    stdout.write(`${ping(1)}\n${second.slice(0, 10)}`)
    stdout.write(`${second.slice(10)}\r\n\nnot json\n{"jsonrpc":"2.0"}\n`)
    stdout.write(Buffer.from(`${ping(3)}\n`))
    expect(seen.messages).toEqual([
      { jsonrpc: '2.0', id: 1, method: 'ping' },
      { jsonrpc: '2.0', id: 2, method: 'ping' },
      { jsonrpc: '2.0', id: 3, method: 'ping' },
    ])
    expect(seen.badLines).toBe(2)
  })

  it('joins a long line written in many pieces once', () => {
    const { stdout, seen } = reader()
    const text = 'y'.repeat(3 * 1024 * 1024)
    const line = `${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/long', params: { text } })}\n`
    for (let at = 0; at < line.length; at += 65_536) stdout.write(line.slice(at, at + 65_536))
    expect(seen.messages).toEqual([
      { jsonrpc: '2.0', method: 'notifications/long', params: { text } },
    ])
  })

  it('gives up on a line past 10 MiB without its end', () => {
    const { stdout, seen } = reader()
    for (let i = 0; i < 11; i += 1) stdout.write('z'.repeat(1024 * 1024))
    expect(seen.overflow).toBeGreaterThan(10 * 1024 * 1024)
    expect(stdout.destroyed).toBe(true)
    expect(seen.messages).toEqual([])
  })
})
