import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { findService } from './catalog.ts'
import { startTestBridge, type TestBridge } from './testing/harness.ts'
import { postModern } from './testing/modern-client.ts'

const everyInput = { elicitation: {}, sampling: {}, roots: {} }
const name = { action: 'accept', content: { name: 'Alice' } }
const greeting = { role: 'assistant', content: { type: 'text', text: 'Hi' }, model: 'm' }
const roots = { roots: [{ uri: 'file:///r', name: 'r' }] }

/** The input-required translation, against the conformance fixture's diagnostic tools. */
describe('input requests of a child in the stateless era', () => {
  let bridge: TestBridge
  beforeAll(async () => {
    const service = findService('conformance')
    if (!service) throw new Error('conformance is missing from the catalog')
    bridge = await startTestBridge(service)
  })
  afterAll(() => bridge.close())

  const call = (tool: string, params: Record<string, unknown> = {}, capabilities = everyInput) =>
    postModern(
      bridge.url,
      'alice',
      {
        method: 'tools/call',
        params: {
          name: tool,
          arguments: {},
          ...params,
          _meta: { 'io.modelcontextprotocol/clientCapabilities': capabilities },
        },
      },
      { 'Mcp-Name': tool }
    )

  it("sends the child's requests made at once together, under the keys it names", async () => {
    const first = await call('test_input_required_result_multiple_inputs')
    const result = first.json.result ?? {}
    expect(result.resultType).toBe('input_required')
    expect(result.inputRequests).toMatchObject({
      user_name: { method: 'elicitation/create' },
      greeting: { method: 'sampling/createMessage' },
      client_roots: { method: 'roots/list', params: {} },
    })
    // The bridge's naming key is its own: the client does not see it.
    expect(JSON.stringify(result.inputRequests)).not.toMatch(/inputKey/)

    // One answer left out: asked for again, under a new requestState.
    const partial = await call('test_input_required_result_multiple_inputs', {
      requestState: result.requestState,
      inputResponses: { user_name: name, greeting },
    })
    const again = partial.json.result ?? {}
    expect(again.resultType).toBe('input_required')
    expect(Object.keys(again.inputRequests as object)).toEqual(['client_roots'])
    expect(again.requestState).not.toBe(result.requestState)

    const done = await call('test_input_required_result_multiple_inputs', {
      requestState: again.requestState,
      inputResponses: { client_roots: roots },
    })
    expect(done.json.result?.resultType).toBe('complete')
    expect(JSON.stringify(done.json.result)).toMatch(/Hi Alice \(roots: file:\/\/\/r\)/)
  })

  it('refuses an answer of the wrong shape and keeps the call waiting for a right one', async () => {
    const first = await call('test_input_required_result_elicitation')
    const requestState = first.json.result?.requestState
    const wrong = await call('test_input_required_result_elicitation', {
      requestState,
      inputResponses: { user_name: { content: { name: 'no action' } } },
    })
    expect(wrong.json.error?.code).toBe(-32602)
    const right = await call('test_input_required_result_elicitation', {
      requestState,
      inputResponses: { user_name: name },
    })
    expect(JSON.stringify(right.json.result)).toMatch(/Hello, Alice!/)
  })

  it('refuses inputResponses that are not a map of results, before the child is asked', async () => {
    for (const inputResponses of [null, 7, { user_name: 12345 }]) {
      const reply = await call('test_input_required_result_elicitation', { inputResponses })
      expect(reply.json.error?.code, JSON.stringify(inputResponses)).toBe(-32602)
    }
  })

  it('answers from inputResponses given up front, without a round trip', async () => {
    const reply = await call('test_input_required_result_elicitation', {
      inputResponses: { user_name: name, unrelated: { action: 'accept' } },
    })
    expect(reply.json.result?.resultType).toBe('complete')
    expect(JSON.stringify(reply.json.result)).toMatch(/Hello, Alice!/)
  })

  it("gives the child the request's own client capabilities", async () => {
    const reply = await call('test_input_required_result_capabilities', {}, {
      sampling: {},
    } as never)
    expect(reply.json.result?.inputRequests).toEqual({
      greeting: expect.objectContaining({ method: 'sampling/createMessage' }),
    })
  })

  it('says which resource was not found, as -32602 (SEP-2164)', async () => {
    const uri = 'test://no-such-resource'
    const reply = await postModern(
      bridge.url,
      'alice',
      { method: 'resources/read', params: { uri } },
      { 'Mcp-Name': uri }
    )
    expect(reply.json.error).toMatchObject({ code: -32602, data: { uri } })
  })
})

/** SEP-2243: a tool's `x-mcp-header` parameters must come as matching `Mcp-Param-*` headers. */
describe('mirrored parameter headers in the stateless era', () => {
  let bridge: TestBridge
  beforeAll(async () => {
    const service = findService('conformance')
    if (!service) throw new Error('conformance is missing from the catalog')
    bridge = await startTestBridge(service)
  })
  afterAll(() => bridge.close())

  const call = (region: unknown, headers: Record<string, string>) =>
    postModern(
      bridge.url,
      'alice',
      {
        method: 'tools/call',
        params: { name: 'test_param_header', arguments: region === undefined ? {} : { region } },
      },
      { 'Mcp-Name': 'test_param_header', ...headers }
    )

  it('accepts a header equal to the argument, plain or Base64, and refuses the rest', async () => {
    const plain = await call('us-west1', { 'Mcp-Param-Region': 'us-west1' })
    expect(JSON.stringify(plain.json.result)).toMatch(/Region: us-west1/)
    const encoded = Buffer.from('Zürich').toString('base64')
    const base64 = await call('Zürich', { 'mcp-param-region': `=?base64?${encoded}?=` })
    expect(JSON.stringify(base64.json.result)).toMatch(/Region: Zürich/)
    // Not the whole sentinel: a literal value.
    const literal = await call('=?base64?SGk=', { 'Mcp-Param-Region': '=?base64?SGk=' })
    expect(literal.status).toBe(200)

    for (const headers of [
      {},
      { 'Mcp-Param-Region': 'eu-north1' },
      { 'Mcp-Param-Region': '=?base64?SGVsbG8?=' },
      { 'Mcp-Param-Region': '=?base64?SGVs!!!bG8=?=' },
    ]) {
      const refused = await call('Hello', headers)
      expect(refused.status, JSON.stringify(headers)).toBe(400)
      expect(refused.json.error?.code, JSON.stringify(headers)).toBe(-32020)
    }
    // No value in the body: no header expected.
    const absent = await call(undefined, {})
    expect(absent.json.error?.code).not.toBe(-32020)
  })

  it("reads the child's tool list once, not on every call", async () => {
    const alice = {
      userId: 'alice',
      userName: 'user alice',
      userEmail: 'alice@example.test',
      clientId: 'test-client',
      scopes: 'mcp offline_access',
    }
    const simpleText = () =>
      postModern(
        bridge.url,
        'alice',
        { method: 'tools/call', params: { name: 'test_simple_text', arguments: {} } },
        { 'Mcp-Name': 'test_simple_text' }
      )
    // The first call starts Alice's child and reads its tools; the child is then watched.
    await simpleText()
    const child = await bridge.bridge.pool.acquire(alice)
    const methods: string[] = []
    const forward = child.forward.bind(child)
    child.forward = (method, params) => {
      methods.push(method)
      return forward(method, params)
    }
    for (const _ of [1, 2]) expect((await simpleText()).json.result?.resultType).toBe('complete')
    expect(methods).toEqual(['tools/call', 'tools/call'])
    expect(bridge.bridge.pool.pids()).toHaveLength(1)
  })
})
