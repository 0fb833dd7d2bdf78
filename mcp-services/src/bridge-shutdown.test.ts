import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { findService, type ServiceDefinition } from './catalog.ts'
import { startTestBridge, type TestBridge } from './testing/harness.ts'
import { modernEnvelope, modernHeaders } from './testing/modern-client.ts'
import { openRawSession } from './testing/raw-client.ts'

/**
 * The bridge's part of a graceful shutdown (main.ts drives it; tests/scale/graceful-shutdown
 * runs it as a process): `/ready` turns 503 first, then `drain()` ends the streams that never end
 * by themselves, so the listener can drain, and refuses new sessions.
 */
describe('bridge shutdown', () => {
  let bridge: TestBridge
  const base = () => bridge.url.replace(/\/mcp$/, '')
  beforeAll(async () => {
    bridge = await startTestBridge(findService('echo') as ServiceDefinition)
  })
  afterAll(() => bridge.close())

  it('is not ready once told, then drain ends standalone and listen streams and refuses sessions', async () => {
    expect((await fetch(`${base()}/ready`)).status).toBe(200)
    const session = await openRawSession(bridge.url, 'alice')
    const standalone = await session.get()
    expect(standalone.headers.get('content-type')).toMatch(/text\/event-stream/)
    const listen = await fetch(bridge.url, {
      method: 'POST',
      headers: modernHeaders('alice', 'subscriptions/listen'),
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 7,
        method: 'subscriptions/listen',
        params: { notifications: { toolsListChanged: true }, _meta: modernEnvelope() },
      }),
    })
    expect(listen.headers.get('content-type')).toMatch(/text\/event-stream/)
    // Both eras' streams tell a buffering proxy to pass events on at once.
    expect([standalone, listen].map((r) => r.headers.get('x-accel-buffering'))).toEqual([
      'no',
      'no',
    ])

    bridge.bridge.markNotReady('shutting down')
    const ready = await fetch(`${base()}/ready`)
    expect(ready.status).toBe(503)
    expect(await ready.json()).toMatchObject({ status: 'unavailable', reason: 'shutting down' })
    // Still served while a proxy notices.
    expect((await session.post({ jsonrpc: '2.0', id: 1, method: 'ping' })).status).toBe(200)

    bridge.bridge.drain()
    // Both streams end (without drain, reading them to the end would never finish).
    await expect(standalone.text()).resolves.toBeTypeOf('string')
    await expect(listen.text()).resolves.toMatch(/subscriptions\/acknowledged/)
    const refused = await openRawSession(bridge.url, 'bob').catch((error: Error) => error)
    expect(String(refused)).toMatch(/503/)
  })
})
