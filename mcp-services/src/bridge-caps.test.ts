import { describe, expect, it } from 'vitest'
import {
  connectClient,
  fixtureService,
  identityHeaders,
  startTestBridge,
  textOf,
} from './testing/harness.ts'
import { ManualClock } from './testing/manual-clock.ts'
import {
  openRawSession,
  RAW_POST_HEADERS,
  type RawSession,
  rawInitialize,
  SseReader,
} from './testing/raw-client.ts'

const INIT = rawInitialize('2025-06-18')

async function initialize(url: string, userId: string): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { ...identityHeaders(userId), ...RAW_POST_HEADERS },
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

/**
 * An SDK client connected as `userId` once the bridge admits it: a 429 means the bridge has not yet
 * seen the streams of a client that just closed end (a busy machine may take a while), so it is
 * asked again until `timeoutMs`. Any other failure, or a 429 past the deadline, fails the test.
 */
async function connectWhenAdmitted(url: string, userId: string, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      return await connectClient(url, userId)
    } catch (error) {
      if ((error as { code?: unknown }).code !== 429 || Date.now() > deadline) throw error
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
}

// Each test starts several children: minutes, not seconds, on two busy cores.
describe('bridge session caps', { timeout: 180_000 }, () => {
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
        const { client } = await connectWhenAdmitted(bridge.url, 'frank')
        expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'hi' } }))).toBe(
          'hi'
        )
        // close() aborts the client's streams and sends no DELETE.
        await client.close()
      }
      expect(bridge.bridge.sessionCount()).toBe(2)
    } finally {
      await bridge.close()
    }
  })

  it('refuses only when every session of the user is busy, until one reaches the idle timeout', async () => {
    // Time moves only when the test moves it: the wait announced is then exact.
    const clock = new ManualClock()
    const bridge = await startTestBridge(
      fixtureService,
      {
        maxSessionsPerUser: 2,
        idleTimeoutMs: 6000,
        // No reaping in this test: the place is made when the new session asks for it.
        sweepIntervalMs: 600_000,
      },
      { now: clock.now }
    )
    try {
      const listening = await openRawSession(bridge.url, 'gina')
      const stream = new SseReader(await listening.get())
      const working = await openRawSession(bridge.url, 'gina')
      const call = await sleepInFlight(working, 30_000)

      const refused = await initialize(bridge.url, 'gina')
      expect(refused.status).toBe(429)
      // The session holding only a GET stream reaches the idle timeout 6 s after its last request.
      expect(refused.headers.get('retry-after')).toBe('6')
      expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(
        /in use/
      )

      clock.advance(5999)
      const early = await initialize(bridge.url, 'gina')
      expect(early.status).toBe(429)
      expect(early.headers.get('retry-after')).toBe('1')
      await early.body?.cancel()
      clock.advance(1)
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
  })

  it('lets a session whose client left mid-call idle out, and give way at the total cap', async () => {
    // A call the child never answers (a long tool, a question nobody answers) must not hold a
    // place for ever once nobody is connected to hear its answer.
    const clock = new ManualClock()
    const bridge = await startTestBridge(
      fixtureService,
      { maxSessions: 2, idleTimeoutMs: 6000, sweepIntervalMs: 600_000 },
      { now: clock.now }
    )
    try {
      const left = await openRawSession(bridge.url, 'alice')
      await (await sleepInFlight(left, 600_000)).disconnect()
      const connected = await sleepInFlight(await openRawSession(bridge.url, 'bob'), 600_000)

      const early = await initialize(bridge.url, 'carol')
      expect(early.status).toBe(503)
      expect(early.headers.get('retry-after')).toBe('6')
      clock.advance(6000)
      const admitted = await initialize(bridge.url, 'carol')
      expect(admitted.status).toBe(200)
      await admitted.body?.cancel()
      expect(await listStatus(left)).toBe(404)
      // Bob's client still reads its call's stream: his session is in use, however long.
      expect(connected.ended).toBe(false)
      await connected.disconnect()
    } finally {
      await bridge.close()
    }
  })

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

  it('refuses an initialize the transport cannot serve before it costs anyone their session', async () => {
    const bridge = await startTestBridge(fixtureService, { maxSessions: 1 })
    try {
      const alice = await openRawSession(bridge.url, 'alice')
      const send = (headers: Record<string, string>) =>
        fetch(bridge.url, {
          method: 'POST',
          headers: { ...identityHeaders('mallory'), ...headers },
          body: JSON.stringify(INIT),
        })
      const wrongAccept = await send({ 'Content-Type': 'application/json', Accept: 'text/html' })
      expect(wrongAccept.status).toBe(406)
      expect(await wrongAccept.json()).toMatchObject({ error: { code: -32000 } })
      const wrongType = await send({
        'Content-Type': 'text/plain',
        Accept: 'application/json, text/event-stream',
      })
      expect(wrongType.status).toBe(415)
      await wrongType.body?.cancel()
      // Alice's idle session was not evicted to make room for either.
      expect(await listStatus(alice)).toBe(200)
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
      // Calls that outlast the test (it ends them), however slowly the sessions open.
      const calls = [
        await sleepInFlight(await openRawSession(bridge.url, 'alice'), 600_000),
        await sleepInFlight(await openRawSession(bridge.url, 'bob'), 600_000),
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

describe('requests of one user handled at once', () => {
  it('past MAX_REQUESTS_PER_USER get 429 while bodies trickle in; other users do not wait', async () => {
    const bridge = await startTestBridge(fixtureService, { maxRequestsPerUser: 2 })
    const stalled = new AbortController()
    try {
      // Bodies that never end: each request is held, reading, as a slow sender's would be.
      const trickle = () =>
        fetch(bridge.url, {
          method: 'POST',
          headers: {
            ...identityHeaders('alice'),
            'Content-Type': 'application/json',
            Accept: 'application/json, text/event-stream',
          },
          body: new ReadableStream({
            start(controller) {
              controller.enqueue(new TextEncoder().encode('{"jsonrpc":'))
            },
          }),
          duplex: 'half',
          signal: stalled.signal,
        } as RequestInit).catch(() => undefined)
      const held = [trickle(), trickle()]
      let third = await initialize(bridge.url, 'alice')
      for (let tries = 0; third.status !== 429 && tries < 50; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 20))
        third = await initialize(bridge.url, 'alice')
      }
      expect(third.status).toBe(429)
      expect(third.headers.get('retry-after')).toBe('1')
      expect((await third.json()) as object).toMatchObject({
        error: { message: expect.stringMatching(/^Too Many Requests: at most 2 of your requests/) },
      })
      expect((await initialize(bridge.url, 'bob')).status).toBe(200)

      stalled.abort()
      await Promise.all(held)
      await expect.poll(async () => (await initialize(bridge.url, 'alice')).status).toBe(200)
    } finally {
      stalled.abort()
      await bridge.close()
    }
  })

  it('counts calls a client left in flight against MAX_REQUESTS_PER_USER until the child answers or they are cancelled', async () => {
    const bridge = await startTestBridge(fixtureService, { maxRequestsPerUser: 3 })
    try {
      const session = await openRawSession(bridge.url, 'gina')
      // Each call started, then its client leaves: the child works on, the HTTP slot is free.
      for (const id of ['s1', 's2', 's3']) {
        const response = await session.post({
          id,
          method: 'tools/call',
          params: { name: 'sleep', arguments: { ms: 60_000 } },
        })
        expect(response.status).toBe(200)
        await response.body?.cancel()
      }
      // An id still in flight cannot be used again: the child would work on both, counted once.
      const reused = await session.post({ id: 's2', method: 'ping' })
      expect(reused.status).toBe(400)
      expect((await reused.json()) as object).toMatchObject({
        error: { code: -32600, message: expect.stringContaining('"s2" is already used') },
      })
      const fourth = await session.post({ id: 's4', method: 'tools/list' })
      expect(fourth.status).toBe(429)
      expect(fourth.headers.get('retry-after')).toBe('1')
      expect((await fourth.json()) as object).toMatchObject({
        error: { message: expect.stringMatching(/still being worked on \(at most 3\)/) },
      })
      // A notification asks nothing of the child's time; another user is not held up.
      expect((await session.post({ method: 'notifications/roots/list_changed' })).status).toBe(202)
      const other = await openRawSession(bridge.url, 'hank')
      expect(await listStatus(other)).toBe(200)

      const cancelled = await session.post({
        method: 'notifications/cancelled',
        params: { requestId: 's1' },
      })
      expect(cancelled.status).toBe(202)
      expect(await listStatus(session)).toBe(200)
    } finally {
      await bridge.close()
    }
  })

  it('refuses a notification a child that reads nothing cannot take, 503, and serves requests in turn', async () => {
    const bridge = await startTestBridge(fixtureService)
    try {
      const session = await openRawSession(bridge.url, 'ivan')
      const blocked = session.post({
        id: 'b',
        method: 'tools/call',
        params: { name: 'block', arguments: { ms: 4000 } },
      })
      expect((await blocked).status).toBe(200)
      const pad = { method: 'notifications/roots/list_changed', params: { _meta: { pad: '' } } }
      pad.params._meta.pad = 'x'.repeat(3 * 1024 * 1024)
      const statuses: number[] = []
      for (let i = 0; i < 4; i += 1) statuses.push((await session.post(pad)).status)
      // 3 MiB each: past 8 MiB unread the child is not sent more, and the client is told so.
      expect(statuses).toEqual([202, 202, 202, 503])
      // A request is not refused for it: it is counted in hand, and read once the child is back.
      const listed = await session.post({ id: 'l', method: 'tools/list' })
      expect(listed.status).toBe(200)
      await new SseReader(listed).waitFor((message) => message.id === 'l')
      expect((await session.post(pad)).status).toBe(202)
    } finally {
      await bridge.close()
    }
  })
})
