import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  fixtureService,
  identityHeaders,
  startTestBridge,
  type TestBridge,
} from './testing/harness.ts'
import { modernEnvelope } from './testing/modern-client.ts'
import { SseReader } from './testing/raw-client.ts'

/** Posts a 2026-07-28 body as written, with the headers a client would send for it. */
async function postRaw(
  url: string,
  body: Record<string, unknown>,
  headers: Record<string, string | undefined> = {}
) {
  const sent: Record<string, string | undefined> = {
    ...identityHeaders('alice'),
    'Content-Type': 'application/json',
    Accept: 'application/json, text/event-stream',
    'MCP-Protocol-Version': '2026-07-28',
    'Mcp-Method': 'tools/list',
    ...headers,
  }
  const response = await fetch(url, {
    method: 'POST',
    headers: Object.fromEntries(
      Object.entries(sent).filter((entry): entry is [string, string] => entry[1] !== undefined)
    ),
    body: JSON.stringify({ method: 'tools/list', params: { _meta: modernEnvelope() }, ...body }),
  })
  const text = await response.text()
  return { status: response.status, json: text ? JSON.parse(text) : undefined }
}

describe('the stateless era refuses malformed JSON-RPC', () => {
  let bridge: TestBridge
  beforeAll(async () => {
    bridge = await startTestBridge(fixtureService)
  })
  afterAll(() => bridge.close())

  it('serves a well-formed request', async () => {
    const reply = await postRaw(bridge.url, { jsonrpc: '2.0', id: 7 })
    expect(reply.status).toBe(200)
    expect(reply.json).toMatchObject({ id: 7, result: { resultType: 'complete' } })
  })

  it('serves a 2026-07-28 request statelessly whatever Mcp-Session-Id it carries', async () => {
    const reply = await postRaw(bridge.url, { jsonrpc: '2.0', id: 9 }, { 'Mcp-Session-Id': 'abc' })
    expect(reply.status).toBe(200)
    expect(reply.json).toMatchObject({ id: 9, result: { resultType: 'complete' } })
  })

  // An id of another type is neither a request nor a notification: acknowledging it with 202
  // would leave the client waiting for an answer that never comes.
  it.each([
    ['a null id', { jsonrpc: '2.0', id: null }],
    ['an object id', { jsonrpc: '2.0', id: { n: 1 } }],
    ['a boolean id', { jsonrpc: '2.0', id: true }],
    ['no jsonrpc member', { id: 7 }],
    ['another JSON-RPC version', { jsonrpc: '1.0', id: 7 }],
  ])('answers %s with 400 and -32600', async (_, body) => {
    const reply = await postRaw(bridge.url, body)
    expect(reply.status).toBe(400)
    expect(reply.json).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32600 } })
  })

  // The child's SDK would drop these unanswered, and the call would wait for ever.
  it.each([
    ['a boolean', true],
    ['an object', { a: 1 }],
    ['a fraction', 1.5],
  ])('answers a progressToken that is %s with 400 and -32602, at once', async (_, token) => {
    const reply = await postRaw(bridge.url, {
      jsonrpc: '2.0',
      id: 8,
      params: { _meta: { ...modernEnvelope(), progressToken: token } },
    })
    expect(reply.status).toBe(400)
    expect(reply.json).toMatchObject({
      id: 8,
      error: { code: -32602, message: 'Invalid params: params._meta.progressToken is not valid' },
    })
  })
})

// The transport (2026-07-28, "Sending Messages"): every POST accepts both answer types. The
// official SDK's 2026 entry answers a body that is not application/json 415 as well.
describe('the stateless era refuses what the transport does not allow a client to send', () => {
  let bridge: TestBridge
  beforeAll(async () => {
    bridge = await startTestBridge(fixtureService)
  })
  afterAll(() => bridge.close())

  const request = { jsonrpc: '2.0', id: 7 }

  it.each([
    ['JSON only', 'application/json'],
    ['SSE only', 'text/event-stream'],
    ["anything (fetch's default)", undefined],
    ['JSON at weight 0 (not acceptable)', 'application/json;q=0, text/event-stream'],
    ['SSE at weight 0', 'application/json, text/event-stream; Q=0.000'],
    ['types that merely contain them', 'application/json-seq, text/event-streams'],
  ])('answers %s with 406', async (_, accept) => {
    const reply = await postRaw(bridge.url, request, { Accept: accept })
    expect(reply.status).toBe(406)
    expect(reply.json).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32000 } })
    expect(reply.json.error.message).toMatch(/^Not Acceptable/)
  })

  it.each([
    ['text/plain', 'text/plain'],
    ['a parameter naming JSON', 'text/plain; a=application/json'],
    ["fetch's default for a text body", undefined],
  ])('answers a Content-Type of %s with 415', async (_, contentType) => {
    const reply = await postRaw(bridge.url, request, { 'Content-Type': contentType })
    expect(reply.status).toBe(415)
    expect(reply.json).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32000 } })
  })

  it('refuses a notification the same way, and takes JSON with a charset and any Accept order', async () => {
    const notification = { jsonrpc: '2.0', method: 'notifications/cancelled' }
    expect((await postRaw(bridge.url, notification, { Accept: undefined })).status).toBe(406)
    const reply = await postRaw(bridge.url, request, {
      'Content-Type': 'Application/JSON; charset=utf-8',
      Accept: 'text/event-stream, application/json',
    })
    expect(reply.status).toBe(200)
    expect(bridge.bridge.pool.size).toBe(1)
  })

  // Media types are case-insensitive (RFC 9110 §8.3.1); a weight above 0 still accepts.
  it.each([
    ['in upper case', 'APPLICATION/JSON, TEXT/EVENT-STREAM'],
    ['with weights and parameters', 'text/event-stream;charset=utf-8;q=0.5, application/json;q=1'],
  ])('takes an Accept listing both types %s', async (_, accept) => {
    const reply = await postRaw(bridge.url, request, { Accept: accept })
    expect(reply.status).toBe(200)
    expect(reply.json).toMatchObject({ id: 7, result: { resultType: 'complete' } })
  })

  it('streams a call asking for progress to a client whose Accept is in upper case', async () => {
    const response = await fetch(bridge.url, {
      method: 'POST',
      headers: {
        ...identityHeaders('alice'),
        'Content-Type': 'application/json',
        Accept: 'APPLICATION/JSON, TEXT/EVENT-STREAM',
        'MCP-Protocol-Version': '2026-07-28',
        'Mcp-Method': 'tools/call',
        'Mcp-Name': 'echo',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 3,
        method: 'tools/call',
        params: {
          name: 'echo',
          arguments: { text: 'streamed' },
          _meta: { ...modernEnvelope(), progressToken: 'p-1' },
        },
      }),
    })
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/)
    const answer = await new SseReader(response).waitFor((message) => message.id === 3)
    expect(answer).toMatchObject({ result: { content: [{ type: 'text', text: 'streamed' }] } })
  })
})
