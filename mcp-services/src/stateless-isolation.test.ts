import { afterEach, describe, expect, it } from 'vitest'
import {
  fixtureService,
  processAlive,
  startTestBridge,
  type TestBridge,
} from './testing/harness.ts'
import { modernEnvelope, modernHeaders, postModern } from './testing/modern-client.ts'

const ofClient = (clientId: string) => ({ 'X-Client-Id': clientId })
const canElicit = { 'io.modelcontextprotocol/clientCapabilities': { elicitation: {} } }

let bridge: TestBridge | undefined
afterEach(async () => {
  await bridge?.close()
  bridge = undefined
})

const call = (
  url: string,
  user: string,
  client: string,
  tool: string,
  args: Record<string, unknown> = {}
) =>
  postModern(
    url,
    user,
    { method: 'tools/call', params: { name: tool, arguments: args, _meta: canElicit } },
    { 'Mcp-Name': tool, ...ofClient(client) }
  )

const textOf = (reply: Awaited<ReturnType<typeof postModern>>) =>
  (reply.json.result?.content as { text: string }[] | undefined)?.[0]?.text

/** Opens a `subscriptions/listen` stream and leaves it open; its status, and how to end it. */
async function listenAs(url: string, user: string, client: string) {
  const ended = new AbortController()
  const response = await fetch(url, {
    method: 'POST',
    headers: { ...modernHeaders(user, 'subscriptions/listen'), ...ofClient(client) },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'subscriptions/listen',
      params: { _meta: modernEnvelope(), notifications: { toolsListChanged: true } },
    }),
    signal: ended.signal,
  })
  return { status: response.status, end: () => ended.abort() }
}

/** A call whose client gives up after `afterMs`, before the child answers. */
async function abandonedCall(
  url: string,
  user: string,
  tool: string,
  args: object,
  afterMs: number
) {
  const body = { jsonrpc: '2.0', id: 7, method: 'tools/call' }
  const params = { name: tool, arguments: args, _meta: modernEnvelope() }
  await fetch(url, {
    method: 'POST',
    headers: modernHeaders(user, 'tools/call', { 'Mcp-Name': tool, ...ofClient('c1') }),
    body: JSON.stringify({ ...body, params }),
    signal: AbortSignal.timeout(afterMs),
  }).then(
    (response) => response.text(),
    () => undefined
  )
}

describe("the stateless era keeps a user's clients apart", { timeout: 60_000 }, () => {
  it('gives each client of a user a child of its own', async () => {
    bridge = await startTestBridge(fixtureService)
    const first = textOf(await call(bridge.url, 'alice', 'client-a', 'pid'))
    const other = textOf(await call(bridge.url, 'alice', 'client-b', 'pid'))
    expect(first).toMatch(/^\d+$/)
    expect(other).not.toBe(first)
    expect(textOf(await call(bridge.url, 'alice', 'client-a', 'pid'))).toBe(first)
  })

  it("asks the client whose call made the child ask, not another client's call in flight", async () => {
    bridge = await startTestBridge(fixtureService)
    const { url } = bridge
    // The victim's call asks after 300 ms; the other client's call starts later and is still in
    // flight then: with one child for both, the question went to the most recent call.
    const asking = call(url, 'alice', 'client-a', 'ask', { waitMs: 300 })
    await new Promise((resolve) => setTimeout(resolve, 100))
    const sleeping = call(url, 'alice', 'client-b', 'sleep', { ms: 1500 })
    const [asked, slept] = await Promise.all([asking, sleeping])
    expect(asked.json.result?.resultType).toBe('input_required')
    expect(JSON.stringify(asked.json.result?.inputRequests)).toMatch(/Go on\?/)
    expect(textOf(slept)).toBe('awake')
  })
})

describe("the stateless era's limits per user", { timeout: 60_000 }, () => {
  it("refuses a user's further child when theirs are all busy, and serves other users", async () => {
    bridge = await startTestBridge(fixtureService, { maxSessionsPerUser: 2, maxSessions: 10 })
    const { url } = bridge
    const held = [await listenAs(url, 'alice', 'c1'), await listenAs(url, 'alice', 'c2')]
    expect(held.map((stream) => stream.status)).toEqual([200, 200])
    const third = await call(url, 'alice', 'c3', 'pid')
    expect(third.status).toBe(429)
    expect(third.json.error?.message).toMatch(/every one of your 2 MCP server processes/)
    expect(textOf(await call(url, 'bob', 'c1', 'pid'))).toMatch(/^\d+$/)
    // A client already served keeps its child.
    expect(textOf(await call(url, 'alice', 'c1', 'pid'))).toMatch(/^\d+$/)
    for (const stream of held) stream.end()
  })

  it("ends the user's least recently used idle child to make room for another of theirs", async () => {
    bridge = await startTestBridge(fixtureService, { maxSessionsPerUser: 2, maxSessions: 10 })
    const { url } = bridge
    const first = textOf(await call(url, 'alice', 'c1', 'pid'))
    await call(url, 'alice', 'c2', 'pid')
    expect(textOf(await call(url, 'alice', 'c3', 'pid'))).toMatch(/^\d+$/)
    expect(bridge.bridge.pool.pids()).not.toContain(Number(first))
    expect(bridge.bridge.pool.size).toBe(2)
  })

  it("gives a call's place back when its client leaves before the answer", async () => {
    bridge = await startTestBridge(fixtureService, { maxRequestsPerUser: 2 })
    const { url } = bridge
    // The child is still sleeping when the clients leave, and long after this test ends.
    await Promise.all([
      abandonedCall(url, 'alice', 'sleep', { ms: 30_000 }, 300),
      abandonedCall(url, 'alice', 'sleep', { ms: 30_000 }, 300),
    ])
    await expect
      .poll(async () => (await call(url, 'alice', 'c1', 'pid')).status, { timeout: 3_000 })
      .toBe(200)
  })

  it('ends a child left working on as many calls as its user may have in hand', async () => {
    bridge = await startTestBridge(fixtureService, { maxRequestsPerUser: 3 })
    const { url } = bridge
    const pid = async () => textOf(await call(url, 'alice', 'c1', 'pid'))
    const first = await pid()
    // The fixture's sleep ignores cancellation: each call left goes on in the child.
    for (let left = 0; left < 2; left++) {
      await abandonedCall(url, 'alice', 'sleep', { ms: 30_000 }, 200)
    }
    expect(await pid()).toBe(first)
    await abandonedCall(url, 'alice', 'sleep', { ms: 30_000 }, 200)
    // Every call answered meanwhile: by the old child until the bridge notices the client left,
    // then by a new one at once, never the ending child's refusal while it takes its time to exit.
    const answers: string[] = []
    await expect
      .poll(
        async () => {
          const reply = await call(url, 'alice', 'c1', 'pid')
          answers.push(textOf(reply) ?? JSON.stringify(reply.json))
          return answers.at(-1)
        },
        { timeout: 5_000, interval: 20 }
      )
      .toMatch(new RegExp(`^(?!${first}$)\\d+$`))
    expect(answers.filter((answer) => !/^\d+$/.test(answer))).toEqual([])
    expect(bridge.bridge.pool.pids()).not.toContain(Number(first))
  })

  it('counts a child ended for its left calls at the caps until it has exited', async () => {
    bridge = await startTestBridge(fixtureService, {
      maxRequestsPerUser: 3,
      maxSessionsPerUser: 1,
      maxSessions: 2,
    })
    const { url } = bridge
    const seen = new Set<number>()
    let mostAlive = 0
    const sampler = setInterval(() => {
      mostAlive = Math.max(mostAlive, [...seen].filter(processAlive).length)
    }, 10)
    try {
      // A child takes about 2.5 s to end (its input closed, then SIGTERM): until a second one.
      const until = Date.now() + 15_000
      while (seen.size < 2 && Date.now() < until) {
        const pid = Number(textOf(await call(url, 'alice', 'c1', 'pid')))
        if (Number.isInteger(pid) && pid > 0) seen.add(pid)
        for (let left = 0; left < 3; left++) {
          await abandonedCall(url, 'alice', 'sleep', { ms: 30_000 }, 100)
        }
      }
    } finally {
      clearInterval(sampler)
    }
    // The user ended several children, never with two of theirs alive at once (their cap is 1).
    expect(seen.size).toBe(2)
    expect(mostAlive).toBe(1)
  })

  it('bounds the subscriptions/listen streams a user holds open', async () => {
    bridge = await startTestBridge(fixtureService, { maxRequestsPerUser: 2 })
    const { url } = bridge
    const held = [await listenAs(url, 'alice', 'c1'), await listenAs(url, 'alice', 'c1')]
    expect(held.map((stream) => stream.status)).toEqual([200, 200])
    expect((await listenAs(url, 'alice', 'c1')).status).toBe(429)
    const bobs = await listenAs(url, 'bob', 'c1')
    expect(bobs.status).toBe(200)
    held[0]?.end()
    await expect
      .poll(async () => {
        const again = await listenAs(url, 'alice', 'c1')
        again.end()
        return again.status
      })
      .toBe(200)
    held[1]?.end()
    bobs.end()
  })
})
