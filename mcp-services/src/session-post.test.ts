import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ServiceDefinition } from './catalog.ts'
import { MAX_JSON_DEPTH } from './post-body.ts'
import {
  fixtureService,
  identityHeaders,
  startTestBridge,
  type TestBridge,
} from './testing/harness.ts'
import { postModern } from './testing/modern-client.ts'
import { openRawSession, RAW_POST_HEADERS, rawInitialize } from './testing/raw-client.ts'

/** JSON-RPC batches in the session era: which revision takes them (`session-post.ts`). */
describe('session-era batches', () => {
  let bridge: TestBridge
  beforeAll(async () => {
    bridge = await startTestBridge(fixtureService)
  })
  afterAll(async () => {
    await bridge.close()
  })

  it('takes a JSON-RPC batch only in a session of 2025-03-26, and initialize never in one', async () => {
    const batch = JSON.stringify([
      {
        jsonrpc: '2.0',
        id: 7,
        method: 'tools/call',
        params: { name: 'echo', arguments: { text: 'a' } },
      },
      { jsonrpc: '2.0', id: 8, method: 'tools/list' },
    ])
    for (const version of ['2025-06-18', '2025-11-25']) {
      const session = await openRawSession(bridge.url, 'alice', { protocolVersion: version })
      const refused = await fetch(bridge.url, {
        method: 'POST',
        headers: session.headers,
        body: batch,
      })
      expect(refused.status).toBe(400)
      expect(await refused.json()).toMatchObject({ error: { code: -32600 } })
      // The session itself goes on.
      const single = await fetch(bridge.url, {
        method: 'POST',
        headers: session.headers,
        body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/list' }),
      })
      expect(single.status).toBe(200)
      expect(await single.text()).toContain('"id":9')
      await fetch(bridge.url, { method: 'DELETE', headers: session.headers })
    }

    const older = await openRawSession(bridge.url, 'alice', { protocolVersion: '2025-03-26' })
    const answered = await fetch(bridge.url, {
      method: 'POST',
      headers: older.headers,
      body: batch,
    })
    expect(answered.status).toBe(200)
    const text = await answered.text()
    expect(text).toContain('"id":7')
    expect(text).toContain('"id":8')
    await fetch(bridge.url, { method: 'DELETE', headers: older.headers })

    const sessions = bridge.bridge.sessionCount()
    const inBatch = await fetch(bridge.url, {
      method: 'POST',
      headers: { ...RAW_POST_HEADERS, ...identityHeaders('alice') },
      body: JSON.stringify([rawInitialize('2025-03-26')]),
    })
    expect(inBatch.status).toBe(400)
    expect(inBatch.headers.get('mcp-session-id')).toBeNull()
    expect(await inBatch.json()).toMatchObject({
      error: { code: -32600, message: expect.stringContaining('batch') },
    })
    expect(bridge.bridge.sessionCount()).toBe(sessions)
  })

  it('answers JSON that is no JSON-RPC message as an invalid request, not a parse error', async () => {
    for (const version of ['2025-03-26', '2025-11-25']) {
      const session = await openRawSession(bridge.url, 'alice', { protocolVersion: version })
      for (const body of [
        { foo: 1 },
        42,
        'text',
        [{ foo: 1 }],
        { jsonrpc: '1.0', id: 1 },
        { jsonrpc: '2.0' },
        { jsonrpc: '2.0', id: 3, method: 5 },
        { jsonrpc: '2.0', id: {}, method: 'ping' },
        [{ jsonrpc: '2.0', id: 2, method: 'ping' }, { jsonrpc: '2.0' }],
      ]) {
        const refused = await fetch(bridge.url, {
          method: 'POST',
          headers: session.headers,
          body: JSON.stringify(body),
        })
        expect(refused.status, JSON.stringify(body)).toBe(400)
        expect(await refused.json()).toMatchObject({ error: { code: -32600 } })
      }
    }
  })
})

describe('a session whose MCP server has not answered initialize yet', () => {
  it('judges a batch by the revision the client asked for, and refuses an empty one', async () => {
    const stuck: ServiceDefinition = {
      ...fixtureService,
      launch: { kind: 'module', path: './testing/silent-server.ts' },
    }
    const bridge = await startTestBridge(stuck)
    try {
      // A revision after batches, and versions naming none, which the server answers with its
      // latest: no batch either way.
      for (const [user, asked] of [
        ['alice', '2025-11-25'],
        ['bob', '1.0'],
        ['carol', ''],
      ] as const) {
        const opening = await fetch(bridge.url, {
          method: 'POST',
          headers: { ...RAW_POST_HEADERS, ...identityHeaders(user) },
          body: JSON.stringify(rawInitialize(asked)),
        })
        // The session exists (its id is out) while its child says nothing.
        const sessionId = opening.headers.get('mcp-session-id') ?? ''
        expect(sessionId, asked).not.toBe('')
        const post = (body: unknown) =>
          fetch(bridge.url, {
            method: 'POST',
            headers: { ...RAW_POST_HEADERS, ...identityHeaders(user), 'Mcp-Session-Id': sessionId },
            body: JSON.stringify(body),
          })
        const batch = await post([
          { jsonrpc: '2.0', id: 2, method: 'tools/list' },
          { jsonrpc: '2.0', id: 3, method: 'ping' },
        ])
        expect(batch.status, asked).toBe(400)
        expect(await batch.json()).toMatchObject({ error: { code: -32600 } })
        const empty = await post([])
        expect(empty.status).toBe(400)
        expect(await empty.json()).toMatchObject({ error: { code: -32600 } })
        await opening.body?.cancel()
      }
    } finally {
      await bridge.close()
    }
  })
})

/** What no retry could ever make acceptable is refused as the client's mistake, not deferred. */
describe('requests refused for their shape before a child sees them', () => {
  let bridge: TestBridge
  beforeAll(async () => {
    bridge = await startTestBridge(fixtureService, { maxRequestsPerUser: 3 })
  })
  afterAll(async () => {
    await bridge.close()
  })

  it('refuses a batch with more requests than a user may have in flight, without Retry-After', async () => {
    const session = await openRawSession(bridge.url, 'ivan', { protocolVersion: '2025-03-26' })
    const pings = Array.from({ length: 4 }, (_, i) => ({
      jsonrpc: '2.0',
      id: i + 1,
      method: 'ping',
    }))
    const post = (body: unknown) =>
      fetch(bridge.url, { method: 'POST', headers: session.headers, body: JSON.stringify(body) })
    const refused = await post(pings)
    expect(refused.status).toBe(400)
    expect(refused.headers.get('retry-after')).toBeNull()
    expect(await refused.json()).toMatchObject({
      error: { code: -32600, message: expect.stringContaining('a batch of 4 requests') },
    })
    // Notifications are no requests in flight: they do not count against the bound.
    const fits = await post([
      ...pings.slice(0, 3),
      { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 99 } },
    ])
    expect(fits.status).toBe(200)
    expect(await fits.text()).toContain('"id":3')
    await fetch(bridge.url, { method: 'DELETE', headers: session.headers })
  })

  it('refuses initialize inside a batch of an open session, which goes on', async () => {
    const session = await openRawSession(bridge.url, 'judy', { protocolVersion: '2025-03-26' })
    const post = (body: unknown) =>
      fetch(bridge.url, { method: 'POST', headers: session.headers, body: JSON.stringify(body) })
    // Well formed, and with params the transport does not take for an initialize.
    for (const initialize of [
      rawInitialize('2025-03-26', 5),
      { jsonrpc: '2.0', id: 5, method: 'initialize', params: {} },
    ]) {
      const refused = await post([initialize])
      expect(refused.status).toBe(400)
      expect(await refused.json()).toMatchObject({
        error: { code: -32600, message: expect.stringContaining('initialize') },
      })
    }
    // Alone, a malformed one is refused as a well-formed one is, not handed to the child.
    const alone = await post({ jsonrpc: '2.0', id: 5, method: 'initialize', params: {} })
    expect(alone.status).toBe(400)
    expect(await alone.json()).toMatchObject({
      error: { code: -32600, message: expect.stringContaining('initialized') },
    })
    const goesOn = await post({ jsonrpc: '2.0', id: 6, method: 'tools/list' })
    expect(goesOn.status).toBe(200)
    expect(await goesOn.text()).toContain('"id":6')
    await fetch(bridge.url, { method: 'DELETE', headers: session.headers })
  })

  it('refuses arguments nested deeper than MAX_JSON_DEPTH in both eras, and takes that depth', async () => {
    // Written as text: the test's own JSON.stringify would overflow at the deepest.
    const nestedText = (levels: number) => `${'{"a":'.repeat(levels)}"deep"${'}'.repeat(levels)}`
    const session = await openRawSession(bridge.url, 'mallory', { protocolVersion: '2025-11-25' })
    for (const [depth, status] of [
      [MAX_JSON_DEPTH + 1, 400],
      [10_000, 400],
      [MAX_JSON_DEPTH, 200],
    ] as const) {
      // The message, its params and the arguments take three levels of the depth.
      const answer = await fetch(bridge.url, {
        method: 'POST',
        headers: session.headers,
        body: `{"jsonrpc":"2.0","id":${depth},"method":"tools/call","params":{"name":"echo","arguments":{"text":${nestedText(depth - 3)}}}}`,
      })
      expect(answer.status, `session era, depth ${depth}`).toBe(status)
      const text = await answer.text()
      if (status === 400) expect(JSON.parse(text)).toMatchObject({ error: { code: -32600 } })
      else expect(text).toContain(`"id":${depth}`)
    }
    await fetch(bridge.url, { method: 'DELETE', headers: session.headers })

    const tooDeep = JSON.parse(nestedText(MAX_JSON_DEPTH - 2))
    // The stateless envelope adds `_meta` beside the arguments, not above them.
    for (const [text, status] of [
      [tooDeep, 400],
      ['shallow', 200],
      // Brackets and escaped quotes inside a string are text, not nesting.
      [`${'{['.repeat(300)}\\"${']}'.repeat(300)}"`, 200],
      // An escaped quote (and an escaped backslash) does not end a string: nesting after it counts.
      [['"\\', tooDeep], 400],
    ] as const) {
      const modern = await postModern(
        bridge.url,
        'mallory',
        { method: 'tools/call', params: { name: 'echo', arguments: { text } } },
        { 'Mcp-Name': 'echo' }
      )
      expect(modern.status).toBe(status)
      if (status === 400) expect(modern.json).toMatchObject({ error: { code: -32600 } })
    }
  })
})
