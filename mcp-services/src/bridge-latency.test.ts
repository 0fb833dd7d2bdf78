import type { AddressInfo, Socket } from 'node:net'
import { serve } from '@hono/node-server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fixtureService, startTestBridge, type TestBridge } from './testing/harness.ts'
import { openRawSession, SseReader } from './testing/raw-client.ts'

/**
 * What keeps the bridge's answers from waiting on anything but the child (`npm run bench`
 * measures the latency itself; docs/benchmarks.md).
 */
describe('bridge latency', () => {
  let bridge: TestBridge
  beforeAll(async () => {
    bridge = await startTestBridge(fixtureService)
  })
  afterAll(async () => {
    await bridge.close()
  })

  it('hands the Node adapter a session POST stream as chunked, so no timer holds it', async () => {
    const session = await openRawSession(bridge.url, 'alice')
    const response = await bridge.bridge.app.fetch(
      new Request(bridge.url, {
        method: 'POST',
        headers: { ...session.headers, Host: new URL(bridge.url).host },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'tools/call',
          params: { name: 'pid', arguments: {} },
        }),
      })
    )
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/)
    expect(response.headers.get('transfer-encoding')).toBe('chunked')
    const answer = await new SseReader(response).waitFor((message) => message.id === 1)
    expect(answer.result).toMatchObject({ content: [{ type: 'text' }] })
  })

  it('writes the head of a session POST stream and its priming event in one go', async () => {
    const session = await openRawSession(bridge.url, 'alice')
    // The bridge's app on a listener of this test's own, to see each write to the connection.
    const writes: string[] = []
    const server = serve({ fetch: bridge.bridge.app.fetch, port: 0, hostname: '127.0.0.1' })
    server.on('connection', (socket: Socket) => {
      const writable = socket as unknown as Record<'_write' | '_writev', (...a: unknown[]) => void>
      for (const method of ['_write', '_writev'] as const) {
        const original = writable[method].bind(socket)
        writable[method] = (chunks: unknown, ...rest: unknown[]) => {
          writes.push(
            Array.isArray(chunks) ? chunks.map((c) => String(c.chunk)).join('') : String(chunks)
          )
          original(chunks, ...rest)
        }
      }
    })
    await new Promise((resolve) => server.once('listening', resolve))
    const { port } = server.address() as AddressInfo
    try {
      const response = await fetch(`http://127.0.0.1:${port}/mcp`, {
        method: 'POST',
        headers: { ...session.headers, Host: new URL(bridge.url).host },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 2,
          method: 'tools/call',
          params: { name: 'sleep', arguments: { ms: 300 } },
        }),
      })
      // The child sleeps: the head and the priming event are all there is to write meanwhile.
      const answer = await new SseReader(response).waitFor((message) => message.id === 2)
      expect(answer.result).toMatchObject({ content: [{ text: 'awake' }] })
      expect(writes[0]).toMatch(/^HTTP\/1\.1 200 [\s\S]*\r\n\r\n[0-9a-f]+\r\nid: [^\n]+\ndata: /)
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })
})
