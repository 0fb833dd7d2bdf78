import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ServiceDefinition } from './catalog.ts'
import {
  fixtureService,
  identityHeaders,
  startTestBridge,
  type TestBridge,
} from './testing/harness.ts'
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
