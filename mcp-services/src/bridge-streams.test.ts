import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fixtureService, startTestBridge, type TestBridge } from './testing/harness.ts'
import { openRawSession, SseReader } from './testing/raw-client.ts'

const isElicitation = (message: Record<string, unknown>) => message.method === 'elicitation/create'

describe('bridge streams', () => {
  let bridge: TestBridge
  beforeAll(async () => {
    bridge = await startTestBridge(fixtureService)
  })
  afterAll(async () => {
    await bridge.close()
  })

  it("sends a child's request on the stream of the call that caused it, with two calls in flight", async () => {
    const session = await openRawSession(bridge.url, 'alice', { capabilities: { elicitation: {} } })
    const asking = new SseReader(
      await session.post({
        id: 'ask',
        method: 'tools/call',
        params: { name: 'ask', arguments: { waitMs: 1000 }, _meta: { progressToken: 'p-ask' } },
      })
    )
    await asking.waitFor((message) => message.method === 'notifications/progress')
    // A second call, newer than the first, in flight while the first one asks the user.
    const sleeping = new SseReader(
      await session.post({
        id: 'sleep',
        method: 'tools/call',
        params: { name: 'sleep', arguments: { ms: 2500 }, _meta: { progressToken: 'p-sleep' } },
      })
    )
    await Promise.race([asking.waitFor(isElicitation), sleeping.waitFor(isElicitation)])
    expect(sleeping.messages.filter(isElicitation)).toEqual([])
    const question = await asking.waitFor(isElicitation)

    const answer = await session.post({
      id: question.id,
      result: { action: 'accept', content: {} },
    })
    expect(answer.status).toBe(202)
    const asked = await asking.waitFor((message) => message.id === 'ask')
    expect(asked.result).toMatchObject({ content: [{ type: 'text', text: 'accept' }] })
    const slept = await sleeping.waitFor((message) => message.id === 'sleep')
    expect(slept.result).toMatchObject({ content: [{ text: 'awake' }] })
    expect(sleeping.messages).toHaveLength(1)
  })

  it('replays what a dropped stream missed after Last-Event-ID', async () => {
    const session = await openRawSession(bridge.url, 'alice')
    const call = new SseReader(
      await session.post({
        id: 'slow',
        method: 'tools/call',
        params: { name: 'sleep', arguments: { ms: 300 } },
      })
    )
    const lastEventId = await call.firstEventId()
    await call.disconnect()
    expect(call.messages).toEqual([])
    // The answer comes while no one listens; the client resumes after the event it had.
    await new Promise((resolve) => setTimeout(resolve, 600))
    const resumed = await session.get(lastEventId)
    expect(resumed.status).toBe(200)
    const replay = new SseReader(resumed)
    const answer = await replay.waitFor((message) => message.id === 'slow')
    expect(answer.result).toMatchObject({ content: [{ text: 'awake' }] })
    await replay.disconnect()
  })

  it('refuses a Last-Event-ID it never handed out, and keeps serving the session', async () => {
    const session = await openRawSession(bridge.url, 'alice')
    for (const bogus of ['nonsense', '_GET_stream/999999']) {
      const refused = await session.get(bogus)
      expect(refused.status).toBe(400)
      expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(
        /Last-Event-ID/
      )
    }
    const list = new SseReader(await session.post({ id: 1, method: 'tools/list' }))
    expect(await list.waitFor((message) => message.id === 1)).toHaveProperty('result')
  })
})

describe('bridge stream replay bounds', () => {
  it('refuses to resume once the events after Last-Event-ID are no longer kept', async () => {
    const bridge = await startTestBridge(fixtureService, {
      eventStore: { maxEvents: 4, maxBytes: 1024 * 1024 },
    })
    try {
      const session = await openRawSession(bridge.url, 'alice')
      const first = new SseReader(await session.post({ id: 1, method: 'tools/list' }))
      const lastEventId = await first.firstEventId()
      await first.waitFor((message) => message.id === 1)
      // Each call stores a priming event and its answer: three calls push the first out.
      for (const id of [2, 3, 4]) {
        const call = new SseReader(await session.post({ id, method: 'tools/list' }))
        await call.waitFor((message) => message.id === id)
      }
      const refused = await session.get(lastEventId)
      expect(refused.status).toBe(400)
      expect(await refused.text()).toMatch(/no longer kept/)
    } finally {
      await bridge.close()
    }
  })
})

describe('streams the client holds open', () => {
  it('ends the standalone GET stream after its lifetime; the client opens it again', async () => {
    const bridge = await startTestBridge(fixtureService, { streamMaxAgeMs: 300 })
    try {
      const session = await openRawSession(bridge.url, 'alice')
      const opened = await session.get()
      expect(opened.status).toBe(200)
      const stream = new SseReader(opened)
      const started = Date.now()
      await expect.poll(() => stream.ended, { timeout: 5_000, interval: 50 }).toBe(true)
      expect(Date.now() - started).toBeGreaterThanOrEqual(250)
      // Ended by the bridge, not lost: the session takes a new one (no 409 for a second stream).
      const again = await session.get()
      expect(again.status).toBe(200)
      await new SseReader(again).disconnect()
    } finally {
      await bridge.close()
    }
  })
})
