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
})
