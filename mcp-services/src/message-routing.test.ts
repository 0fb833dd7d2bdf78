import type { JSONRPCMessage, JSONRPCRequest, RequestId } from '@modelcontextprotocol/sdk/types.js'
import { describe, expect, it } from 'vitest'
import { InFlightRequests } from './message-routing.ts'

function request(id: RequestId, method: string, params: Record<string, unknown> = {}) {
  return { jsonrpc: '2.0', id, method, params } as JSONRPCRequest
}
function toolCall(id: RequestId, progressToken?: string) {
  return request(id, 'tools/call', {
    name: 'x',
    ...(progressToken === undefined ? {} : { _meta: { progressToken } }),
  })
}
function progress(token: string): JSONRPCMessage {
  return {
    jsonrpc: '2.0',
    method: 'notifications/progress',
    params: { progressToken: token, progress: 1 },
  }
}
const sampling = (id: number): JSONRPCMessage => request(id, 'sampling/createMessage')
const elicitation = (id: number): JSONRPCMessage => request(id, 'elicitation/create')

describe('InFlightRequests', () => {
  it('puts a progress notification with the request that carried its token', () => {
    const inFlight = new InFlightRequests()
    inFlight.add(toolCall(1, 'tok-1'))
    inFlight.add(toolCall(2))
    expect(inFlight.relatedRequestFor(progress('tok-1'), false)).toBe(1)
  })

  it('puts other child messages with the most recent request, or the GET stream', () => {
    const inFlight = new InFlightRequests()
    expect(inFlight.relatedRequestFor(sampling(9), false)).toBeUndefined()
    inFlight.add(toolCall('a'))
    inFlight.add(toolCall('b'))
    expect(inFlight.relatedRequestFor(sampling(10), false)).toBe('b')
    inFlight.delete('b')
    expect(inFlight.relatedRequestFor(sampling(11), false)).toBe('a')
    expect(inFlight.size).toBe(1)
  })

  it('puts a request of the child with the call it last heard about, not the newest one', () => {
    const inFlight = new InFlightRequests()
    inFlight.add(toolCall('a', 'tok-a'))
    expect(inFlight.relatedRequestFor(progress('tok-a'), false)).toBe('a')
    inFlight.add(toolCall('b', 'tok-b'))
    expect(inFlight.relatedRequestFor(elicitation(1), false)).toBe('a')
    // The client answered it: the child goes on with 'a', whatever else arrived meanwhile.
    inFlight.add(toolCall('c'))
    inFlight.clientAnswered(1)
    expect(inFlight.relatedRequestFor(sampling(2), false)).toBe('a')
    expect(inFlight.relatedRequestFor(progress('tok-b'), false)).toBe('b')
    expect(inFlight.relatedRequestFor(sampling(3), false)).toBe('b')
  })

  it('never picks a request that cannot make the server talk back while one that can is open', () => {
    const inFlight = new InFlightRequests()
    inFlight.add(toolCall('call'))
    inFlight.add(request('list', 'tools/list'))
    inFlight.add(request('ping', 'ping'))
    expect(inFlight.relatedRequestFor(sampling(1), false)).toBe('call')
    inFlight.delete('call')
    // Nothing else left: still a POST stream the client reads rather than an optional GET one.
    expect(inFlight.relatedRequestFor(sampling(2), false)).toBe('ping')
  })

  it("puts the child's cancellation of its own request where that request went", () => {
    const inFlight = new InFlightRequests()
    inFlight.add(toolCall('a', 'tok-a'))
    inFlight.relatedRequestFor(progress('tok-a'), false)
    inFlight.relatedRequestFor(sampling(5), false)
    inFlight.add(toolCall('b'))
    const cancelled: JSONRPCMessage = {
      jsonrpc: '2.0',
      method: 'notifications/cancelled',
      params: { requestId: 5, reason: 'timed out' },
    }
    expect(inFlight.relatedRequestFor(cancelled, false)).toBe('a')
  })

  it('puts the completion of a URL elicitation with the request that started it', () => {
    const inFlight = new InFlightRequests()
    inFlight.add(toolCall('a'))
    inFlight.relatedRequestFor(
      request(1, 'elicitation/create', { mode: 'url', elicitationId: 'e-1', url: 'https://x' }),
      false
    )
    inFlight.add(toolCall('b'))
    const complete: JSONRPCMessage = {
      jsonrpc: '2.0',
      method: 'notifications/elicitation/complete',
      params: { elicitationId: 'e-1' },
    }
    expect(inFlight.relatedRequestFor(complete, false)).toBe('a')
  })

  it('puts a message tagged with a task with the request in flight about that task', () => {
    const inFlight = new InFlightRequests()
    inFlight.add(request('result', 'tasks/result', { taskId: 't-1' }))
    inFlight.add(toolCall('other'))
    const tagged = request(3, 'elicitation/create', {
      _meta: { 'io.modelcontextprotocol/related-task': { taskId: 't-1' } },
    })
    expect(inFlight.relatedRequestFor(tagged, false)).toBe('result')
  })

  it('sends notifications about the whole session to an open GET stream', () => {
    const inFlight = new InFlightRequests()
    inFlight.add(toolCall('a'))
    const changed: JSONRPCMessage = { jsonrpc: '2.0', method: 'notifications/tools/list_changed' }
    expect(inFlight.relatedRequestFor(changed, true)).toBeUndefined()
    expect(inFlight.relatedRequestFor(changed, false)).toBe('a')
  })

  it('forgets what hung on a request once it is answered', () => {
    const inFlight = new InFlightRequests()
    inFlight.add(toolCall('a', 'tok-a'))
    inFlight.relatedRequestFor(progress('tok-a'), false)
    inFlight.relatedRequestFor(sampling(1), false)
    inFlight.delete('a')
    expect(inFlight.size).toBe(0)
    expect(inFlight.relatedRequestFor(progress('tok-a'), false)).toBeUndefined()
    const cancelled: JSONRPCMessage = {
      jsonrpc: '2.0',
      method: 'notifications/cancelled',
      params: { requestId: 1 },
    }
    expect(inFlight.relatedRequestFor(cancelled, false)).toBeUndefined()
  })
})
