import { describe, expect, it } from 'vitest'
import { InFlightRequests, progressTokenOf } from './message-routing.ts'

describe('InFlightRequests', () => {
  it('puts a progress notification with the request that carried its token', () => {
    const inFlight = new InFlightRequests()
    inFlight.add(1, 'tok-1')
    inFlight.add(2, undefined)
    const progress = {
      jsonrpc: '2.0' as const,
      method: 'notifications/progress',
      params: { progressToken: 'tok-1', progress: 1 },
    }
    expect(inFlight.relatedRequestFor(progress)).toBe(1)
  })

  it('puts other child messages with the most recent request, or the GET stream', () => {
    const inFlight = new InFlightRequests()
    const sampling = { jsonrpc: '2.0' as const, id: 9, method: 'sampling/createMessage' }
    expect(inFlight.relatedRequestFor(sampling)).toBeUndefined()
    inFlight.add('a', undefined)
    inFlight.add('b', undefined)
    expect(inFlight.relatedRequestFor(sampling)).toBe('b')
    inFlight.delete('b')
    expect(inFlight.relatedRequestFor(sampling)).toBe('a')
    expect(inFlight.size).toBe(1)
  })

  it('reads the progress token from _meta', () => {
    expect(progressTokenOf({ _meta: { progressToken: 7 } })).toBe(7)
    expect(progressTokenOf({})).toBeUndefined()
    expect(progressTokenOf(undefined)).toBeUndefined()
  })
})
