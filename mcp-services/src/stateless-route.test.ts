import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  fixtureService,
  identityHeaders,
  startTestBridge,
  type TestBridge,
} from './testing/harness.ts'
import { modernEnvelope } from './testing/modern-client.ts'

/** Posts a 2026-07-28 body as written, with the headers a client would send for it. */
async function postRaw(url: string, body: Record<string, unknown>) {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      ...identityHeaders('alice'),
      'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream',
      'MCP-Protocol-Version': '2026-07-28',
      'Mcp-Method': 'tools/list',
    },
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
})
