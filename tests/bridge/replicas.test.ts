import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { replicaTag } from '../../mcp-services/src/owner-routing.ts'
import { connectClient, identityHeaders, textOf } from '../../mcp-services/src/testing/harness.ts'
import { connectModernClient, postModern } from '../../mcp-services/src/testing/modern-client.ts'
import { openRawSession, SseReader } from '../../mcp-services/src/testing/raw-client.ts'
import type { RunningProxy } from '../proxies/support/proxy.ts'
import {
  type Listener,
  listen,
  type Replica,
  SECRET,
  type Served,
  startReplica,
  startRoundRobin,
} from './replicas-support.ts'

const IDS = ['bridge-a', 'bridge-b'] as const

/**
 * Two bridge replicas of one service, each on its own listener and knowing the other from
 * `BRIDGE_PEERS`, behind a real nginx balancing round-robin, as the edge would (it adds the
 * shared secret; the identity headers come from the client here, standing in for `/verify`).
 */
describe('two bridge replicas behind nginx, round-robin', () => {
  let replicas: Replica[]
  let nginx: RunningProxy & { port: number }
  let proxyUrl: string
  const secretHeader = { 'X-Bridge-Secret': SECRET }

  beforeAll(async () => {
    const listeners = await Promise.all(IDS.map(() => listen()))
    const peers = IDS.map((id, i) => `${id}=http://127.0.0.1:${listeners[i]?.port}`).join(',')
    replicas = await Promise.all(
      IDS.map((id, i) => startReplica(id, peers, listeners[i] as Listener))
    )
    nginx = await startRoundRobin(listeners.map((listener) => listener.port))
    proxyUrl = `http://127.0.0.1:${nginx.port}/mcp`
  }, 30_000)
  afterAll(async () => {
    await nginx?.stop()
    await Promise.all((replicas ?? []).map((replica) => replica.stop()))
  })

  const ownerOf = (sessionId: string) => {
    const owner = replicas.find((replica) => sessionId.startsWith(`${replicaTag(replica.id)}.`))
    if (!owner) throw new Error(`no replica owns ${sessionId}`)
    return { owner, other: replicas.find((replica) => replica !== owner) as Replica }
  }

  it('serves one SDK session wherever its requests land: list, calls, a GET stream, elicitation, DELETE', async () => {
    const before = replicas.map((replica) => replica.served.length)
    const { client, transport } = await connectClient(proxyUrl, 'alice', {
      clientOptions: { capabilities: { elicitation: {} } },
    })
    client.setRequestHandler(ElicitRequestSchema, () => ({ action: 'accept', content: {} }))
    const sessionId = transport.sessionId as string
    const { owner, other } = ownerOf(sessionId)

    const { tools } = await client.listTools()
    expect(tools.map((tool) => tool.name)).toContain('echo')
    const pid = textOf(await client.callTool({ name: 'pid' }))
    for (let call = 0; call < 20; call++) {
      const text = `call ${call}`
      expect(textOf(await client.callTool({ name: 'echo', arguments: { text } }))).toBe(text)
    }
    // One child served every call: the session never moved.
    expect(textOf(await client.callTool({ name: 'pid' }))).toBe(pid)
    // The child asks the client mid-call; the answer is a new POST, wherever it lands.
    const asked = await client.callTool({ name: 'ask', arguments: { waitMs: 50 } })
    expect(textOf(asked)).toBe('accept')

    await transport.terminateSession()
    await client.close()

    const fresh = (replica: Replica, i: number) => replica.served.slice(before[i])
    const [seenByA, seenByB] = replicas.map(fresh) as [Served[], Served[]]
    // nginx alternates: both replicas took requests from the proxy ...
    expect(seenByA.filter((served) => !served.forwarded).length).toBeGreaterThan(5)
    expect(seenByB.filter((served) => !served.forwarded).length).toBeGreaterThan(5)
    const byOwner = fresh(owner, replicas.indexOf(owner))
    const byOther = fresh(other, replicas.indexOf(other))
    // ... the other one forwarded its share to the owner, and every request succeeded.
    expect(byOwner.filter((served) => served.forwarded).length).toBeGreaterThan(5)
    expect(byOther.every((served) => !served.forwarded)).toBe(true)
    expect([...seenByA, ...seenByB].every((served) => served.status < 300)).toBe(true)
    // The SDK's GET stream reached the owner, and so did the DELETE.
    expect(byOwner.some((served) => served.method === 'GET' && served.stream)).toBe(true)
    expect(byOwner.some((served) => served.method === 'DELETE' && served.status === 200)).toBe(true)
    expect(owner.bridge.sessionCount() + other.bridge.sessionCount()).toBe(0)
  })

  it('resumes a dropped stream with Last-Event-ID through the replica that does not own it', async () => {
    const session = await openRawSession(proxyUrl, 'alice')
    const { owner, other } = ownerOf(session.sessionId)
    const direct = (replica: Replica, init: RequestInit & { headers: Record<string, string> }) =>
      fetch(replica.url, { ...init, headers: { ...init.headers, ...secretHeader } })

    const call = new SseReader(
      await direct(other, {
        method: 'POST',
        headers: session.headers,
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 'slow',
          method: 'tools/call',
          params: { name: 'sleep', arguments: { ms: 300 } },
        }),
      })
    )
    const lastEventId = await call.firstEventId()
    await call.disconnect()
    await new Promise((resolve) => setTimeout(resolve, 600))
    const resumed = await direct(other, {
      headers: { ...session.headers, Accept: 'text/event-stream', 'Last-Event-ID': lastEventId },
    })
    expect(resumed.status).toBe(200)
    const replay = new SseReader(resumed)
    expect((await replay.waitFor((message) => message.id === 'slow')).result).toMatchObject({
      content: [{ text: 'awake' }],
    })
    await replay.disconnect()
    // Dropping the stream at the replica in between ended it at the owner as well: a stream left
    // open there would keep the session busy (never given way at a cap) until the idle timeout.
    await vi.waitFor(() => expect(owner.openStreams()).toBe(0))

    // The owner still checks the user: another user's forwarded request finds no session.
    const stranger = await direct(other, {
      method: 'POST',
      headers: { ...session.headers, ...identityHeaders('mallory') },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
    })
    expect(stranger.status).toBe(404)
    // A request already forwarded once is never forwarded again.
    const looped = await direct(other, {
      method: 'POST',
      headers: { ...session.headers, 'X-Bridge-Forwarded': owner.id },
      body: JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/list' }),
    })
    expect(looped.status).toBe(404)
    // A client can send the header through the edge as often as it likes, kilobytes of it: the
    // warnings are bounded (REFUSAL_LOG_RATE, 20 a second) and name its length, not its value.
    const forged = 'r'.repeat(7000)
    for (let i = 0; i < 40; i++) {
      const again = await direct(other, {
        method: 'POST',
        headers: { ...session.headers, 'X-Bridge-Forwarded': forged },
        body: JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/list' }),
      })
      expect(again.status).toBe(404)
    }
    const loops = () => other.warnings.filter((line) => line.event === 'session_forward_loop')
    const suppressed = () =>
      other.warnings
        .filter((line) => line.event === 'session_forward_loop_suppressed')
        .reduce((sum, line) => sum + Number(line.suppressed), 0)
    // Every one counted: written, or told in the next second's count.
    await vi.waitFor(() => expect(loops().length + suppressed()).toBe(41), { timeout: 3_000 })
    expect(loops().length).toBeLessThan(41)
    expect(loops().at(-1)).toMatchObject({ from_length: 7000 })
    expect(JSON.stringify(other.warnings)).not.toContain(forged)
    const deleted = await direct(other, { method: 'DELETE', headers: session.headers })
    expect(deleted.status).toBe(200)
    expect(owner.bridge.sessionCount()).toBe(0)
  })

  it('serves the stateless era through the same proxy on both replicas, with no forwarding', async () => {
    const before = replicas.map((replica) => replica.served.length)
    const client = await connectModernClient(proxyUrl, 'carol')
    expect((await client.listTools()).tools.map((tool) => tool.name)).toContain('echo')
    for (let call = 0; call < 6; call++) {
      const text = `stateless ${call}`
      expect(textOf(await client.callTool({ name: 'echo', arguments: { text } }))).toBe(text)
    }
    await client.close()
    for (const [i, replica] of replicas.entries()) {
      const seen = replica.served.slice(before[i])
      expect(seen.length).toBeGreaterThan(2)
      expect(seen.every((served) => !served.forwarded && served.status === 200)).toBe(true)
    }
  })

  it('serves a 2026-07-28 request where it lands, whatever session id of a peer it carries', async () => {
    const [here, peer] = replicas as [Replica, Replica]
    const before = [here.served.length, peer.served.length]
    const reply = await postModern(
      here.url,
      'carol',
      { method: 'tools/list' },
      { ...secretHeader, 'Mcp-Session-Id': `${replicaTag(peer.id)}.not-a-session` }
    )
    expect(reply.status).toBe(200)
    expect(here.served.slice(before[0])).toEqual([
      expect.objectContaining({ forwarded: false, status: 200 }),
    ])
    expect(peer.served.length).toBe(before[1])
  })

  it('resumes a stateless call waiting for input at the replica that holds it', async () => {
    const call = {
      method: 'tools/call',
      params: {
        name: 'ask',
        arguments: { waitMs: 0 },
        _meta: { 'io.modelcontextprotocol/clientCapabilities': { elicitation: {} } },
      },
    }
    const headers = { 'Mcp-Name': 'ask', ...secretHeader }
    const [first, second] = replicas as [Replica, Replica]
    const asked = await postModern(first.url, 'dave', call, headers)
    expect(asked.json.result).toMatchObject({
      resultType: 'input_required',
      inputRequests: { input: { method: 'elicitation/create' } },
    })
    const requestState = String(asked.json.result?.requestState)
    expect(requestState.startsWith(`${replicaTag(first.id)}.`)).toBe(true)
    // The retry lands on the other replica: the waiting call is in the first one's child.
    const inputResponses = { input: { action: 'accept', content: {} } }
    const retry = { ...call, params: { ...call.params, requestState, inputResponses } }
    const resumed = await postModern(second.url, 'dave', retry, headers)
    expect(resumed.json.result).toMatchObject({
      resultType: 'complete',
      content: [{ type: 'text', text: 'accept' }],
    })
    expect(first.served.at(-1)).toMatchObject({ forwarded: true, status: 200 })
  })

  it('answers 404 for a session whose owner has stopped, so the client starts over', async () => {
    const session = await openRawSession(proxyUrl, 'alice')
    const { owner, other } = ownerOf(session.sessionId)
    await owner.stop()
    const list = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' })
    const throughProxy = await fetch(proxyUrl, {
      method: 'POST',
      headers: session.headers,
      body: list,
    })
    expect(throughProxy.status).toBe(404)
    expect(((await throughProxy.json()) as { error: { code: number } }).error.code).toBe(-32001)
    const atSurvivor = await fetch(other.url, {
      method: 'POST',
      headers: { ...session.headers, ...secretHeader },
      body: list,
    })
    expect(atSurvivor.status).toBe(404)
    // A new session starts on the survivor.
    const { client } = await connectClient(proxyUrl, 'alice')
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'again' } }))).toBe(
      'again'
    )
    await client.close()
  })
})
