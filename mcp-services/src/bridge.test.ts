import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  connectClient,
  fixtureService,
  identityHeaders,
  processAlive,
  startTestBridge,
  type TestBridge,
  textOf,
} from './testing/harness.ts'
import { RAW_POST_HEADERS, rawInitialize, SseReader } from './testing/raw-client.ts'

const INIT = rawInitialize('2025-06-18')
const POST_HEADERS = RAW_POST_HEADERS

describe('bridge sessions', () => {
  let bridge: TestBridge
  beforeAll(async () => {
    bridge = await startTestBridge(fixtureService, { maxSessionsPerUser: 3 })
  })
  afterAll(async () => {
    await bridge.close()
  })

  it('initializes, lists and calls tools through the SDK client', async () => {
    const { client } = await connectClient(bridge.url, 'alice')
    const { tools } = await client.listTools()
    expect(tools.map((tool) => tool.name)).toContain('echo')
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'hi' } }))).toBe('hi')
    await client.close()
  })

  it('resumes a session by Mcp-Session-Id from a new connection', async () => {
    const first = await connectClient(bridge.url, 'alice')
    const sessionId = first.transport.sessionId
    expect(sessionId).toBeTruthy()
    const pid = textOf(await first.client.callTool({ name: 'pid' }))
    const second = await connectClient(bridge.url, 'alice', { sessionId: sessionId as string })
    expect(textOf(await second.client.callTool({ name: 'pid' }))).toBe(pid)
    await first.transport.terminateSession()
  })

  it('answers 404 to another user presenting the session id', async () => {
    const { transport } = await connectClient(bridge.url, 'alice')
    const response = await fetch(bridge.url, {
      method: 'POST',
      headers: {
        ...POST_HEADERS,
        ...identityHeaders('mallory'),
        'Mcp-Session-Id': transport.sessionId as string,
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
    })
    expect(response.status).toBe(404)
    expect(
      ((await response.json()) as { error: { code: number; message: string } }).error.code
    ).toBe(-32001)
    await transport.terminateSession()
  })

  it('answers 404 to the same user presenting the session id through another client', async () => {
    const { client, transport } = await connectClient(bridge.url, 'alice')
    const response = await fetch(bridge.url, {
      method: 'POST',
      headers: {
        ...POST_HEADERS,
        ...identityHeaders('alice'),
        'X-Client-Id': 'another-client',
        'Mcp-Session-Id': transport.sessionId as string,
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
    })
    expect(response.status).toBe(404)
    // The opener's own client still uses it.
    expect((await client.listTools()).tools.length).toBeGreaterThan(0)
    await transport.terminateSession()
  })

  it('ends the child process on DELETE', async () => {
    const { client, transport } = await connectClient(bridge.url, 'bob')
    const pid = Number(textOf(await client.callTool({ name: 'pid' })))
    expect(processAlive(pid)).toBe(true)
    await transport.terminateSession()
    expect(processAlive(pid)).toBe(false)
    const after = await fetch(bridge.url, {
      method: 'POST',
      headers: {
        ...POST_HEADERS,
        ...identityHeaders('bob'),
        'Mcp-Session-Id': `${transport.sessionId}`,
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/list' }),
    })
    expect(after.status).toBe(404)
  })

  it('refuses a version header naming no revision, leaving the session alone', async () => {
    const { client, transport } = await connectClient(bridge.url, 'dave')
    const sessionId = transport.sessionId as string
    for (const [method, version] of [
      ['POST', 'garbage'],
      ['POST', '1'],
      ['GET', 'v1'],
      ['DELETE', '99'],
    ] as const) {
      const response = await fetch(bridge.url, {
        method,
        headers: {
          ...POST_HEADERS,
          ...identityHeaders('dave'),
          'Mcp-Session-Id': sessionId,
          'MCP-Protocol-Version': version,
        },
        ...(method === 'POST'
          ? { body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/list' }) }
          : {}),
      })
      expect(response.status, `${method} ${version}`).toBe(400)
      const { error, id } = (await response.json()) as {
        error: { code: number; data: { supported: string[]; requested: string } }
        id: number | null
      }
      expect(error.code).toBe(-32022)
      // A refused request is named in its refusal; GET and DELETE carry none.
      expect(id).toBe(method === 'POST' ? 9 : null)
      expect(error.data).toMatchObject({ requested: version })
      expect(error.data.supported).toContain('2026-07-28')
    }
    // Neither ended nor bypassed: the session answers as before.
    const { tools } = await client.listTools()
    expect(tools.length).toBeGreaterThan(0)
    await transport.terminateSession()
  })

  // Media types are case-insensitive and a weight of 0 means "not acceptable" (RFC 9110 §8.3.1,
  // §12.5.1): the session's own transport, which checks Accept again, must read it the same way.
  it('reads Accept by media type and weight in a session, on POST and GET alike', async () => {
    const upper = {
      ...identityHeaders('frank'),
      'Content-Type': 'application/json',
      Accept: 'APPLICATION/JSON, TEXT/EVENT-STREAM',
    }
    const init = await fetch(bridge.url, {
      method: 'POST',
      headers: upper,
      body: JSON.stringify(INIT),
    })
    expect(init.status).toBe(200)
    await new SseReader(init).waitFor((message) => message.id === 1)
    const session = {
      ...upper,
      'Mcp-Session-Id': init.headers.get('mcp-session-id') as string,
      'MCP-Protocol-Version': '2025-06-18',
    }
    const post = (accept: string, message: object) =>
      fetch(bridge.url, {
        method: 'POST',
        headers: { ...session, Accept: accept },
        body: JSON.stringify({ jsonrpc: '2.0', ...message }),
      })
    expect((await post(upper.Accept, { method: 'notifications/initialized' })).status).toBe(202)
    const list = { id: 2, method: 'tools/list' }
    const zeroJson = await post('application/json;q=0, text/event-stream', list)
    expect(zeroJson.status).toBe(406)
    await zeroJson.body?.cancel()
    const listed = await post('text/event-stream, Application/Json', list)
    expect(listed.status).toBe(200)
    await new SseReader(listed).waitFor((message) => message.id === 2)
    const get = (accept: string) => fetch(bridge.url, { headers: { ...session, Accept: accept } })
    const zeroStream = await get('text/event-stream;q=0')
    expect(zeroStream.status).toBe(406)
    await zeroStream.body?.cancel()
    const stream = await get('TEXT/EVENT-STREAM')
    expect(stream.status).toBe(200)
    await stream.body?.cancel()
    await (await fetch(bridge.url, { method: 'DELETE', headers: session })).body?.cancel()
  })

  it('answers HEAD with 405, with a session or without', async () => {
    const { transport } = await connectClient(bridge.url, 'erin')
    for (const session of [transport.sessionId as string, undefined]) {
      const response = await fetch(bridge.url, {
        method: 'HEAD',
        headers: { ...identityHeaders('erin'), ...(session ? { 'Mcp-Session-Id': session } : {}) },
      })
      expect(response.status, String(session)).toBe(405)
      expect(response.headers.get('allow')).toContain('POST')
    }
    await transport.terminateSession()
  })

  it('refuses a request without an authenticated user', async () => {
    const response = await fetch(bridge.url, {
      method: 'POST',
      headers: POST_HEADERS,
      body: JSON.stringify(INIT),
    })
    expect(response.status).toBe(403)
  })

  it('asks for initialize when a POST has no session', async () => {
    const response = await fetch(bridge.url, {
      method: 'POST',
      headers: { ...POST_HEADERS, ...identityHeaders('carol') },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    })
    expect(response.status).toBe(400)
    expect(
      ((await response.json()) as { error: { code: number; message: string } }).error.message
    ).toMatch(/initialize/)
  })

  it('rejects cross-site browser origins and foreign Host headers', async () => {
    const evilOrigin = await fetch(bridge.url, {
      method: 'POST',
      headers: { ...POST_HEADERS, ...identityHeaders('alice'), Origin: 'https://evil.example' },
      body: JSON.stringify(INIT),
    })
    expect(evilOrigin.status).toBe(403)
    const sameOrigin = new URL(bridge.url).origin
    const ok = await fetch(bridge.url, {
      method: 'POST',
      headers: { ...POST_HEADERS, ...identityHeaders('alice'), Origin: sameOrigin },
      body: JSON.stringify(INIT),
    })
    expect(ok.status).toBe(200)
    const sessionId = ok.headers.get('mcp-session-id') as string
    await ok.body?.cancel()
    await fetch(bridge.url, {
      method: 'DELETE',
      headers: { ...identityHeaders('alice'), 'Mcp-Session-Id': sessionId },
    })
  })
})

describe('bridge limits', () => {
  it('reaps idle sessions and their children', async () => {
    const bridge = await startTestBridge(fixtureService, {
      idleTimeoutMs: 1000,
      sweepIntervalMs: 50,
    })
    try {
      const { client } = await connectClient(bridge.url, 'alice')
      const pid = Number(textOf(await client.callTool({ name: 'pid' })))
      // A call in flight longer than the timeout keeps the session alive.
      await client.callTool({ name: 'sleep', arguments: { ms: 1300 } })
      expect(processAlive(pid)).toBe(true)
      await waitFor(() => !processAlive(pid), 5000)
      expect(bridge.bridge.sessionCount()).toBe(0)
    } finally {
      await bridge.close()
    }
  })
})

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}
