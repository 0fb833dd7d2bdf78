import { spawnSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { connectClient, textOf } from '../../mcp-services/src/testing/harness.ts'
import { BRIDGE_MAIN, type BridgeProcess, useBridgeProcesses } from './replica-processes-support.ts'

const SECRET = 'replica-process-secret-0123456789abcdef'

/**
 * The same as tests/bridge/replicas.test.ts asks of in-process bridges, through the real entry
 * point: two `npm run start:service -- echo` processes configured only by their environment.
 */
describe('two bridge processes started from the environment', () => {
  const replicas = useBridgeProcesses(SECRET)

  it('serves a session started on one replica through the other, then 404 once it stops', async () => {
    const [first, second] = replicas as [BridgeProcess, (typeof replicas)[0]]
    const headers = { 'X-Bridge-Secret': SECRET }
    const started = await connectClient(first.url, 'alice', { headers })
    const sessionId = started.transport.sessionId as string
    const elsewhere = await connectClient(second.url, 'alice', { headers, sessionId })
    const text = 'through the other replica'
    const result = await elsewhere.client.callTool({ name: 'echo', arguments: { message: text } })
    expect(textOf(result)).toContain(text)

    await first.stop()
    const gone = await fetch(second.url, {
      method: 'POST',
      headers: {
        ...headers,
        'X-User-Id': 'alice',
        'Content-Type': 'application/json',
        Accept: 'application/json, text/event-stream',
        'Mcp-Session-Id': sessionId,
        'Mcp-Protocol-Version': '2025-11-25',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    })
    expect(gone.status).toBe(404)
    await elsewhere.client.close()
  })

  it('refuses to start with a peer list that does not name it', () => {
    const run = spawnSync(process.execPath, [BRIDGE_MAIN, 'echo'], {
      env: { ...process.env, BRIDGE_PEERS: 'r0=http://127.0.0.1:1', BRIDGE_REPLICA_ID: 'r9' },
      encoding: 'utf8',
      timeout: 15_000,
    })
    expect(run.status).toBe(2)
    expect(run.stderr).toMatch(/BRIDGE_REPLICA_ID: "r9" is not among the ids of BRIDGE_PEERS/)
  })
})
