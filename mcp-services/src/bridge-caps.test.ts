import { describe, expect, it } from 'vitest'
import {
  connectClient,
  fixtureService,
  identityHeaders,
  startTestBridge,
  textOf,
} from './testing/harness.ts'
import { openRawSession, type RawSession, SseReader } from './testing/raw-client.ts'

const INIT = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: {
    protocolVersion: '2025-06-18',
    capabilities: {},
    clientInfo: { name: 'raw', version: '0' },
  },
}

async function initialize(url: string, userId: string): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: {
      ...identityHeaders(userId),
      'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify(INIT),
  })
}

/** Status of a `tools/list` in the session: 200 while it lives, 404 once it is gone. */
async function listStatus(session: RawSession): Promise<number> {
  const response = await session.post({ id: 'list', method: 'tools/list' })
  if (response.status === 200) await new SseReader(response).waitFor((m) => m.id === 'list')
  else await response.body?.cancel()
  return response.status
}

/** Starts a `sleep` call and leaves it in flight. */
async function sleepInFlight(session: RawSession, ms: number): Promise<SseReader> {
  const call = new SseReader(
    await session.post({
      id: 'sleep',
      method: 'tools/call',
      params: { name: 'sleep', arguments: { ms } },
    })
  )
  await call.firstEventId()
  return call
}

describe('bridge session caps', () => {
  it("at the user's cap ends their least recently used idle session; its id then answers 404", async () => {
    const bridge = await startTestBridge(fixtureService, { maxSessionsPerUser: 2 })
    try {
      const older = await openRawSession(bridge.url, 'dave')
      const newer = await openRawSession(bridge.url, 'dave')
      const other = await openRawSession(bridge.url, 'erin')
      expect(await listStatus(older)).toBe(200) // now `newer` is the least recently used
      const third = await openRawSession(bridge.url, 'dave')
      expect(await listStatus(newer)).toBe(404)
      expect(await listStatus(older)).toBe(200)
      expect(await listStatus(third)).toBe(200)
      expect(await listStatus(other)).toBe(200)
      expect(bridge.bridge.sessionCount()).toBe(3)
    } finally {
      await bridge.close()
    }
  })

  it('lets SDK clients that close without DELETE be replaced', async () => {
    const bridge = await startTestBridge(fixtureService, { maxSessionsPerUser: 2 })
    try {
      for (let run = 0; run < 5; run++) {
        const { client } = await connectClient(bridge.url, 'frank')
        expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'hi' } }))).toBe(
          'hi'
        )
        // close() aborts the client's streams and sends no DELETE.
        await client.close()
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      expect(bridge.bridge.sessionCount()).toBe(2)
    } finally {
      await bridge.close()
    }
  })

  it('refuses only when every session of the user is busy, until one reaches the idle timeout', async () => {
    const bridge = await startTestBridge(fixtureService, {
      maxSessionsPerUser: 2,
      idleTimeoutMs: 6000,
      // No reaping in this test: the place is made when the new session asks for it.
      sweepIntervalMs: 60_000,
    })
    try {
      const listening = await openRawSession(bridge.url, 'gina')
      const stream = new SseReader(await listening.get())
      const working = await openRawSession(bridge.url, 'gina')
      const call = await sleepInFlight(working, 30_000)

      const refused = await initialize(bridge.url, 'gina')
      expect(refused.status).toBe(429)
      // The session holding only a GET stream reaches the idle timeout 6 s after its last request.
      const retryAfter = Number(refused.headers.get('retry-after'))
      expect(retryAfter).toBeGreaterThanOrEqual(1)
      expect(retryAfter).toBeLessThanOrEqual(6)
      expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(
        /in use/
      )

      await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000))
      const admitted = await initialize(bridge.url, 'gina')
      expect(admitted.status).toBe(200)
      await admitted.body?.cancel()
      await stream.disconnect()
      expect(await listStatus(listening)).toBe(404)
      expect(call.ended).toBe(false)
      await call.disconnect()
    } finally {
      await bridge.close()
    }
  }, 40_000)

  it('at the total cap ends the least recently used idle session of anyone', async () => {
    const bridge = await startTestBridge(fixtureService, { maxSessions: 2 })
    try {
      const alice = await openRawSession(bridge.url, 'alice')
      const bob = await openRawSession(bridge.url, 'bob')
      const carol = await openRawSession(bridge.url, 'carol')
      expect(await listStatus(alice)).toBe(404)
      expect(await listStatus(bob)).toBe(200)
      expect(await listStatus(carol)).toBe(200)
    } finally {
      await bridge.close()
    }
  })

  it('answers 503 at the total cap when every session is busy, with the true wait', async () => {
    const bridge = await startTestBridge(fixtureService, {
      maxSessions: 2,
      idleTimeoutMs: 600_000,
    })
    try {
      const calls = [
        await sleepInFlight(await openRawSession(bridge.url, 'alice'), 4000),
        await sleepInFlight(await openRawSession(bridge.url, 'bob'), 4000),
      ]
      const refused = await initialize(bridge.url, 'carol')
      expect(refused.status).toBe(503)
      // A call in flight may end any moment; the session can idle out 600 s after that at the
      // earliest.
      expect(Number(refused.headers.get('retry-after'))).toBe(600)
      await Promise.all(calls.map((call) => call.disconnect()))
    } finally {
      await bridge.close()
    }
  })
})
