import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { findService, type ServiceDefinition } from './catalog.ts'
import {
  connectClient,
  identityHeaders,
  processAlive,
  startTestBridge,
  type TestBridge,
  textOf,
} from './testing/harness.ts'
import { ManualClock } from './testing/manual-clock.ts'
import {
  connectModernClient,
  modernEnvelope,
  modernHeaders,
  postModern,
} from './testing/modern-client.ts'
import { SseReader } from './testing/raw-client.ts'

function service(name: string): ServiceDefinition {
  const found = findService(name)
  if (!found) throw new Error(`no service ${name} in the catalog`)
  return found
}

/** A tool of each shipped service and arguments that make it succeed. */
const SHIPPED: ReadonlyArray<readonly [string, string, Record<string, unknown>, RegExp]> = [
  ['echo', 'echo', { message: 'modern hi' }, /modern hi/],
  ['everything', 'echo', { message: 'modern hi' }, /modern hi/],
  ['memory', 'read_graph', {}, /entities/],
  ['filesystem', 'list_allowed_directories', {}, /filesystem/],
  [
    'sequential-thinking',
    'sequentialthinking',
    { thought: 'first', nextThoughtNeeded: false, thoughtNumber: 1, totalThoughts: 1 },
    /thoughtNumber/,
  ],
]

describe.each(SHIPPED)('the v2 client pinned to 2026-07-28 on %s', (name, tool, args, expected) => {
  let bridge: TestBridge
  beforeAll(async () => {
    bridge = await startTestBridge(service(name))
  })
  afterAll(() => bridge.close())

  it('lists and calls tools statelessly, on a pooled child', async () => {
    const client = await connectModernClient(bridge.url, 'alice')
    expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28')
    const { tools } = await client.listTools()
    expect(tools.map((entry) => entry.name)).toContain(tool)
    expect(textOf(await client.callTool({ name: tool, arguments: args }))).toMatch(expected)
    await client.close()
    expect(bridge.bridge.sessionCount()).toBe(0)
    expect(bridge.bridge.pool.pids()).toHaveLength(1)
  })
})

describe('the stateless era beside the session era', () => {
  let bridge: TestBridge
  beforeAll(async () => {
    bridge = await startTestBridge(service('everything'))
  })
  afterAll(() => bridge.close())

  it('serves the v1 client and the v2 client in auto mode on the same endpoint', async () => {
    const v1 = await connectClient(bridge.url, 'alice')
    expect(textOf(await v1.client.callTool({ name: 'echo', arguments: { message: 'v1' } }))).toBe(
      'Echo: v1'
    )
    expect(bridge.bridge.sessionCount()).toBe(1)
    await v1.transport.terminateSession()
    const auto = await connectModernClient(bridge.url, 'alice', { mode: 'auto' })
    const result = await auto.callTool({ name: 'echo', arguments: { message: 'auto' } })
    expect(textOf(result)).toBe('Echo: auto')
    await auto.close()
  })

  it('answers server/discover from the child and stamps resultType and cache fields', async () => {
    const discover = await postModern(bridge.url, 'alice', { method: 'server/discover' })
    expect(discover.status).toBe(200)
    expect(discover.json.result).toMatchObject({
      resultType: 'complete',
      // Every version the endpoint serves, the sessions' too: what −32022 lists as supported.
      supportedVersions: ['2026-07-28', '2025-11-25', '2025-06-18', '2025-03-26'],
      ttlMs: 0,
      cacheScope: 'private',
      capabilities: { tools: {} },
      _meta: { 'io.modelcontextprotocol/serverInfo': { name: expect.any(String) } },
    })
    const list = await postModern(bridge.url, 'alice', { method: 'tools/list' })
    expect(list.json.result).toMatchObject({
      resultType: 'complete',
      ttlMs: 0,
      cacheScope: 'private',
    })
    const call = await postModern(
      bridge.url,
      'alice',
      { method: 'tools/call', params: { name: 'echo', arguments: { message: 'x' } } },
      { 'Mcp-Name': 'echo' }
    )
    expect(call.json.result).toMatchObject({ resultType: 'complete' })
    expect(call.json.result).not.toHaveProperty('ttlMs')
  })

  it('refuses header/body mismatches with 400 and -32020', async () => {
    const method = await postModern(
      bridge.url,
      'alice',
      { method: 'tools/list' },
      {
        'Mcp-Method': 'prompts/list',
      }
    )
    expect(method.status).toBe(400)
    expect(method.json).toMatchObject({ id: 1, error: { code: -32020 } })
    const version = await postModern(
      bridge.url,
      'alice',
      { method: 'tools/list' },
      {
        'MCP-Protocol-Version': '2026-01-01',
      }
    )
    expect(version.status).toBe(400)
    expect(version.json.error?.code).toBe(-32020)
    const name = await postModern(
      bridge.url,
      'alice',
      { method: 'tools/call', params: { name: 'echo', arguments: { message: 'x' } } },
      { 'Mcp-Name': 'get-sum' }
    )
    expect(name.status).toBe(400)
    expect(name.json.error?.code).toBe(-32020)
    // Base64 is read strictly, as for Mcp-Param-*: what Buffer would skip is refused.
    const echo = { method: 'tools/call', params: { name: 'echo', arguments: { message: 'x' } } }
    for (const sent of ['=?base64?ZW!!Nob w?=', '=?base64?ZWNobw==junk?=']) {
      const lenient = await postModern(bridge.url, 'alice', echo, { 'Mcp-Name': sent })
      expect(lenient.status, sent).toBe(400)
      expect(lenient.json.error?.message, sent).toMatch(/Mcp-Name is not valid Base64/)
    }
    const strict = await postModern(bridge.url, 'alice', echo, {
      'Mcp-Name': '=?base64?ZWNobw==?=',
    })
    expect(strict.status).toBe(200)
  })

  it('refuses an unsupported version with 400, -32022 and every version served', async () => {
    const reply = await postModern(bridge.url, 'alice', {
      method: 'server/discover',
      params: { _meta: { 'io.modelcontextprotocol/protocolVersion': '2099-01-01' } },
    })
    expect(reply.status).toBe(400)
    expect(reply.json.error?.code).toBe(-32022)
    expect(reply.json.error?.data?.supported).toEqual([
      '2026-07-28',
      '2025-11-25',
      '2025-06-18',
      '2025-03-26',
    ])
  })

  it('refuses a call that needs a client capability the request did not declare (-32021)', async () => {
    const reply = await postModern(
      bridge.url,
      'alice',
      {
        method: 'tools/call',
        params: { name: 'trigger-sampling-request', arguments: { prompt: 'p' } },
      },
      { 'Mcp-Name': 'trigger-sampling-request' }
    )
    expect(reply.status).toBe(400)
    expect(reply.json.error?.code).toBe(-32021)
    expect(reply.json.error?.data).toEqual({ requiredCapabilities: { sampling: {} } })
  })

  it('relays a sampling request of the child as an input-required result', async () => {
    const client = await connectModernClient(bridge.url, 'alice', {
      clientOptions: { capabilities: { sampling: {} } },
    })
    const prompts: string[] = []
    client.setRequestHandler('sampling/createMessage', (request) => {
      const content = request.params.messages[0]?.content
      prompts.push(content && 'text' in content ? String(content.text) : '')
      return {
        model: 'test-model',
        role: 'assistant',
        content: { type: 'text', text: 'sampled answer' },
      }
    })
    const result = await client.callTool({
      name: 'trigger-sampling-request',
      arguments: { prompt: 'ping', maxTokens: 5 },
    })
    expect(prompts).toHaveLength(1)
    expect(prompts[0]).toMatch(/ping/)
    expect(JSON.stringify(result)).toMatch(/sampled answer/)
    await client.close()
  })

  it("keeps a waiting call to its user: another user's retry cannot resume it", async () => {
    const call = {
      method: 'tools/call',
      params: {
        name: 'trigger-sampling-request',
        arguments: { prompt: 'raw', maxTokens: 5 },
        _meta: { 'io.modelcontextprotocol/clientCapabilities': { sampling: {} } },
      },
    }
    const headers = { 'Mcp-Name': 'trigger-sampling-request' }
    const first = await postModern(bridge.url, 'alice', call, headers)
    expect(first.json.result).toMatchObject({
      resultType: 'input_required',
      inputRequests: { input: { method: 'sampling/createMessage' } },
    })
    const requestState = String(first.json.result?.requestState)
    const inputResponses = {
      input: { model: 'm', role: 'assistant', content: { type: 'text', text: 'raw answer' } },
    }
    const retry = { ...call, params: { ...call.params, requestState, inputResponses } }
    const stolen = await postModern(bridge.url, 'bob', retry, headers)
    expect(stolen.json.error?.code).toBe(-32602)
    // The same state on a call of another tool: not a retry of this one.
    const elsewhere = await postModern(
      bridge.url,
      'alice',
      { ...retry, params: { ...retry.params, name: 'echo', arguments: { message: 'x' } } },
      { 'Mcp-Name': 'echo' }
    )
    expect(elsewhere.json.error).toMatchObject({
      code: -32602,
      message: expect.stringMatching(/unknown requestState/),
    })
    const resumed = await postModern(bridge.url, 'alice', retry, headers)
    expect(resumed.json.result).toMatchObject({ resultType: 'complete' })
    expect(JSON.stringify(resumed.json.result)).toMatch(/raw answer/)
  })

  it("streams the child's progress when the request asks for it", async () => {
    const client = await connectModernClient(bridge.url, 'alice')
    const progress: number[] = []
    const result = await client.callTool(
      { name: 'trigger-long-running-operation', arguments: { duration: 0.3, steps: 3 } },
      { onprogress: (update) => progress.push(update.progress) }
    )
    expect(textOf(result)).toMatch(/completed/)
    expect(progress).toEqual([1, 2, 3])
    await client.close()
  })

  it('answers removed and unknown methods with 404 and -32601', async () => {
    for (const method of ['initialize', 'ping', 'logging/setLevel', 'no/such-method']) {
      const reply = await postModern(bridge.url, 'alice', { method, id: 7 })
      expect(reply.status).toBe(404)
      expect(reply.json).toMatchObject({ id: 7, error: { code: -32601 } })
    }
  })

  it('answers GET and DELETE of the stateless era with 405', async () => {
    for (const method of ['GET', 'DELETE']) {
      const response = await fetch(bridge.url, {
        method,
        headers: { ...identityHeaders('alice'), 'MCP-Protocol-Version': '2026-07-28' },
      })
      expect(response.status).toBe(405)
      expect(response.headers.get('allow')).toBe('POST')
    }
  })

  it('acknowledges subscriptions/listen with the part of the filter it honours', async () => {
    const client = await connectModernClient(bridge.url, 'alice')
    const subscription = await client.listen({ toolsListChanged: true, promptsListChanged: true })
    expect(subscription.honoredFilter).toBeTypeOf('object')
    await subscription.close()
    await client.close()
  })
})

describe('the per-user pool', () => {
  // The bridge's clock is moved by hand: on a busy machine a real idle timeout could end a child
  // between two calls this test expects it to serve.
  const clock = new ManualClock()
  let bridge: TestBridge
  beforeAll(async () => {
    bridge = await startTestBridge(
      service('echo'),
      { idleTimeoutMs: 60_000, sweepIntervalMs: 50 },
      { now: clock.now }
    )
  })
  afterAll(() => bridge.close())

  it('reuses one child per user, never serves another user with it, and reaps it when idle', async () => {
    const whoami = async (userId: string) => {
      const client = await connectModernClient(bridge.url, userId)
      const result = await client.callTool({ name: 'whoami' })
      await client.close()
      return result.structuredContent as { userId: string }
    }
    expect((await whoami('alice')).userId).toBe('alice')
    const [alicePid] = bridge.bridge.pool.pids()
    expect((await whoami('alice')).userId).toBe('alice')
    expect(bridge.bridge.pool.pids()).toEqual([alicePid])
    expect((await whoami('bob')).userId).toBe('bob')
    const pids = bridge.bridge.pool.pids()
    expect(pids).toHaveLength(2)
    expect(pids).toContain(alicePid)

    // Just short of the idle timeout: sweeps (each reads the clock once) keep both children.
    clock.advance(59_999)
    const readsBefore = clock.reads
    await expect.poll(() => clock.reads, { timeout: 20_000 }).toBeGreaterThan(readsBefore + 1)
    expect(bridge.bridge.pool.pids()).toEqual(pids)

    clock.advance(1)
    await expect.poll(() => bridge.bridge.pool.pids(), { timeout: 20_000 }).toEqual([])
    for (const pid of pids)
      await expect.poll(() => processAlive(pid), { timeout: 20_000 }).toBe(false)
  }, 120_000)
})

describe('the pool at its cap', () => {
  let bridge: TestBridge
  beforeAll(async () => {
    bridge = await startTestBridge(service('echo'), { maxSessions: 1 })
  })
  afterAll(() => bridge.close())

  it("ends the least recently used idle child to start another user's", async () => {
    const alice = await connectModernClient(bridge.url, 'alice')
    await alice.callTool({ name: 'echo', arguments: { message: 'a' } })
    const [alicePid] = bridge.bridge.pool.pids()
    const bob = await connectModernClient(bridge.url, 'bob')
    expect((await bob.callTool({ name: 'whoami' })).structuredContent).toMatchObject({
      userId: 'bob',
    })
    expect(bridge.bridge.pool.pids()).not.toContain(alicePid)
    await expect.poll(() => processAlive(alicePid ?? -1), { timeout: 20_000 }).toBe(false)
    await alice.close()
    await bob.close()
  }, 120_000)
})

describe('subscriptions/listen over time', () => {
  it('ends the stream after its lifetime, for the client to listen again past the proxy', async () => {
    const bridge = await startTestBridge(service('everything'), { streamMaxAgeMs: 300 })
    try {
      const response = await fetch(bridge.url, {
        method: 'POST',
        headers: modernHeaders('alice', 'subscriptions/listen'),
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'subscriptions/listen',
          params: { _meta: modernEnvelope(), notifications: { toolsListChanged: true } },
        }),
      })
      expect(response.status).toBe(200)
      const stream = new SseReader(response)
      await stream.waitFor(
        (message) => message.method === 'notifications/subscriptions/acknowledged'
      )
      expect(stream.ended).toBe(false)
      await expect.poll(() => stream.ended, { timeout: 5_000, interval: 50 }).toBe(true)
    } finally {
      await bridge.close()
    }
  })
})
