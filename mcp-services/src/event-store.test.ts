import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js'
import { describe, expect, it } from 'vitest'
import { SessionEventStore } from './event-store.ts'

const note = (text: string): JSONRPCMessage => ({
  jsonrpc: '2.0',
  method: 'notifications/message',
  params: { level: 'info', data: text },
})

async function replay(store: SessionEventStore, after: string) {
  const sent: Array<[string, JSONRPCMessage]> = []
  const streamId = await store.replayEventsAfter(after, {
    send: async (id, message) => {
      sent.push([id, message])
    },
  })
  return { streamId, sent }
}

describe('SessionEventStore', () => {
  it('replays the later events of the same stream, without priming events', async () => {
    const store = new SessionEventStore({ maxEvents: 100, maxBytes: 1 << 20 })
    const priming = await store.storeEvent('s1', {} as JSONRPCMessage)
    await store.storeEvent('s2', note('other stream'))
    const first = await store.storeEvent('s1', note('one'))
    await store.storeEvent('s1', note('two'))
    expect(await store.getStreamIdForEventId(priming)).toBe('s1')
    const { streamId, sent } = await replay(store, priming)
    expect(streamId).toBe('s1')
    expect(sent.map(([id]) => id)).toEqual([first, 's1/4'])
    expect(sent.map(([, message]) => message)).toEqual([note('one'), note('two')])
  })

  it('keeps at most the given number of events and bytes, oldest dropped first', async () => {
    const store = new SessionEventStore({ maxEvents: 3, maxBytes: 1 << 20 })
    const ids = []
    for (let i = 0; i < 5; i++) ids.push(await store.storeEvent('s', note(String(i))))
    expect(store.refusal(ids[0] as string)).toBe('expired')
    expect(store.refusal(ids[1] as string)).toBeUndefined()
    expect((await replay(store, ids[1] as string)).sent).toHaveLength(3)

    const small = new SessionEventStore({ maxEvents: 100, maxBytes: 300 })
    const before = await small.storeEvent('s', note('kept'))
    await small.storeEvent('s', note('x'.repeat(400)))
    // Larger than the whole budget: sent once, not kept; what came before is gone with it.
    expect(small.refusal(before)).toBe('expired')
  })

  it('refuses ids it never handed out', async () => {
    const store = new SessionEventStore({ maxEvents: 10, maxBytes: 1 << 20 })
    await store.storeEvent('s', note('a'))
    // A sequence it handed out, on a stream it did not: made up too.
    for (const id of ['', 'x', 's/0', 's/2', 's/1.5', '/1', 'other/1', 's2/1']) {
      expect(store.refusal(id), id).toBe('unknown')
      expect(await store.getStreamIdForEventId(id)).toBeUndefined()
    }
    await expect(replay(store, 's/9')).rejects.toThrow(/no longer held/)
  })

  it('knows the stream of the newest dropped event, and of every held one, after trimming', async () => {
    const store = new SessionEventStore({ maxEvents: 2, maxBytes: 1 << 20 })
    const ids: string[] = []
    for (let i = 0; i < 200; i++) ids.push(await store.storeEvent(`s${i % 3}`, note(String(i))))
    // Held: 199 (s0) and 200 (s1); 198 (s2) was the newest dropped: a resumption after it is whole.
    expect(store.refusal(ids[197] as string)).toBeUndefined()
    expect(store.refusal(`s0/${198}`)).toBe('unknown')
    expect(await store.getStreamIdForEventId(ids[198] as string)).toBe('s0')
    expect(await store.getStreamIdForEventId(ids[199] as string)).toBe('s1')
    expect(await store.getStreamIdForEventId(`s0/${200}`)).toBeUndefined()
  })
})
