import { describe, expect, it } from 'vitest'
import { openRawSession } from '../../mcp-services/src/testing/raw-client.ts'
import { type BridgeProcess, useBridgeProcesses } from './replica-processes-support.ts'

const SECRET = 'replica-drain-secret-0123456789abcdef'

/**
 * A replica stopping while it relays another replica's standalone GET stream (the proxy in front
 * sent the GET there) ends that stream as it ends its own, so its listener drains at once instead
 * of waiting out SHUTDOWN_TIMEOUT and cutting the connection (docs/operations.md, "Stopping").
 */
describe('a bridge process stopping while it forwards a stream', { timeout: 60_000 }, () => {
  const replicas = useBridgeProcesses(SECRET, {
    LOG_LEVEL: 'info',
    SHUTDOWN_DELAY: '0',
    // Longer than `stop()` waits before SIGKILL (5 s): only a drain lets it exit by itself.
    SHUTDOWN_TIMEOUT: '20',
  })

  it('ends the forwarded stream cleanly and drains', async () => {
    const [owner, relay] = replicas as [BridgeProcess, BridgeProcess]
    const session = await openRawSession(owner.url, 'alice', {
      headers: { 'X-Bridge-Secret': SECRET },
    })
    const stream = await fetch(relay.url, {
      headers: { ...session.headers, Accept: 'text/event-stream' },
    })
    expect(stream.status).toBe(200)
    expect(stream.headers.get('content-type')).toMatch(/text\/event-stream/)

    const started = Date.now()
    await relay.stop()
    expect(relay.output()).toMatch(/"event":"listener_closed","outcome":"drained"/)
    expect(Date.now() - started).toBeLessThan(5_000)
    // The client sees the stream end (it reconnects), not a reset.
    await expect(stream.text()).resolves.toBeTypeOf('string')
    expect(relay.output()).not.toMatch(/Error: aborted/)
    // The session lives on at its owner.
    expect((await session.post({ jsonrpc: '2.0', id: 1, method: 'ping' })).status).toBe(200)
  })
})
