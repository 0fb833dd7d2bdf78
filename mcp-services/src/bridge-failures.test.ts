import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CHILD_EXITED_CODE } from './json-rpc-error.ts'
import {
  connectClient,
  fixtureService,
  identityHeaders,
  processAlive,
  startTestBridge,
  type TestBridge,
  textOf,
} from './testing/harness.ts'
import { modernEnvelope, modernHeaders } from './testing/modern-client.ts'

const MEGABYTE = 1024 * 1024

describe('bridge under failure and load of one session', () => {
  let bridge: TestBridge
  beforeAll(async () => {
    bridge = await startTestBridge(fixtureService)
  })
  afterAll(async () => {
    await bridge.close()
  })

  it('ends the session with a JSON-RPC error when the child crashes, and stays up', async () => {
    const { client, transport } = await connectClient(bridge.url, 'alice')
    const pid = Number(textOf(await client.callTool({ name: 'pid' })))
    await expect(client.callTool({ name: 'crash' })).rejects.toMatchObject({
      code: CHILD_EXITED_CODE,
      message: expect.stringMatching(/process exited/),
    })
    expect(processAlive(pid)).toBe(false)
    // The session is gone: its id now answers 404, which tells clients to start anew.
    await expect(client.listTools()).rejects.toThrow(/404|Session not found/)
    await transport.close()
    const fresh = await connectClient(bridge.url, 'alice')
    expect(textOf(await fresh.client.callTool({ name: 'echo', arguments: { text: 'ok' } }))).toBe(
      'ok'
    )
    await fresh.transport.terminateSession()
  })

  it('refuses a call nested past serialising (400, -32600) in both eras, and goes on', async () => {
    // Built as text: serialising it here would overflow, as it would on the way to the child.
    const depth = 100_000
    const nested = `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`
    const refused = { code: -32600, message: expect.stringContaining('nests deeper than') }
    const { client, transport } = await connectClient(bridge.url, 'alice')
    const sessionCall = await fetch(bridge.url, {
      method: 'POST',
      headers: {
        ...identityHeaders('alice'),
        'Content-Type': 'application/json',
        Accept: 'application/json, text/event-stream',
        'Mcp-Session-Id': transport.sessionId ?? '',
        'MCP-Protocol-Version': '2025-11-25',
      },
      body: `{"jsonrpc":"2.0","id":41,"method":"tools/call","params":{"name":"echo","arguments":{"text":${nested}}}}`,
    })
    expect(sessionCall.status).toBe(400)
    expect(await sessionCall.json()).toMatchObject({ error: refused })
    // The request failed, not the session.
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'ok' } }))).toBe('ok')
    await transport.terminateSession()

    const statelessCall = await fetch(bridge.url, {
      method: 'POST',
      headers: modernHeaders('alice', 'tools/call', { 'Mcp-Name': 'echo' }),
      body: `{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"echo","arguments":{"text":${nested}},"_meta":${JSON.stringify(modernEnvelope())}}}`,
    })
    expect(statelessCall.status).toBe(400)
    expect(await statelessCall.json()).toMatchObject({ error: refused })
  })

  it('passes a 1 MB tool result and a 1 MB argument', async () => {
    const { client, transport } = await connectClient(bridge.url, 'alice')
    const big = await client.callTool({ name: 'big', arguments: { bytes: MEGABYTE } })
    expect(textOf(big)).toHaveLength(MEGABYTE)
    const text = 'y'.repeat(MEGABYTE)
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text } }))).toBe(text)
    await transport.terminateSession()
  })

  it('keeps a session responsive while its child floods stderr', async () => {
    const { client, transport } = await connectClient(bridge.url, 'alice')
    const flood = client.callTool({ name: 'stderr-flood', arguments: { bytes: 8 * MEGABYTE } })
    const started = Date.now()
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'still here' } }))).toBe(
      'still here'
    )
    expect(textOf(await flood)).toMatch(/^wrote /)
    expect(Date.now() - started).toBeLessThan(10_000)
    await transport.terminateSession()
  })
})
