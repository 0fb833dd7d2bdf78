import { describe, expect, it } from 'vitest'
import { acceptedMediaTypes, withAcceptAsRead } from './accept.ts'

const accepted = (header: string | null) => [...acceptedMediaTypes(header)].sort()

describe('acceptedMediaTypes', () => {
  it('lists what SDK clients send', () => {
    expect(accepted('application/json, text/event-stream')).toEqual([
      'application/json',
      'text/event-stream',
    ])
    expect(accepted('text/event-stream')).toEqual(['text/event-stream'])
  })

  it('reads type and subtype in any case (RFC 9110 §8.3.1)', () => {
    expect(accepted('APPLICATION/JSON, Text/Event-Stream')).toEqual([
      'application/json',
      'text/event-stream',
    ])
  })

  it('leaves out a range of weight 0, however it is written (RFC 9110 §12.5.1)', () => {
    for (const zero of ['q=0', 'q=0.', 'q=0.000', 'Q=0', ' q = 0 ']) {
      expect(accepted(`application/json;${zero}, text/event-stream`), zero).toEqual([
        'text/event-stream',
      ])
    }
    expect(accepted('application/json;q=0.001')).toEqual(['application/json'])
    expect(accepted('application/json;q=1.000')).toEqual(['application/json'])
  })

  it('takes the first weight, after any media-type parameters', () => {
    expect(accepted('text/event-stream;charset=utf-8;q=0.5;q=0')).toEqual(['text/event-stream'])
    expect(accepted('text/event-stream;charset=utf-8;q=0;q=1')).toEqual([])
  })

  it('reads a weight that is no qvalue as the default', () => {
    for (const sloppy of ['q=', 'q=abc', 'q=2', 'q=0.0001', 'q=-1', 'q']) {
      expect(accepted(`application/json;${sloppy}`), sloppy).toEqual(['application/json'])
    }
  })

  it('does not cut a quoted parameter at its comma or semicolon', () => {
    expect(accepted('application/json;a="x,q=0;y", text/event-stream;q=0')).toEqual([
      'application/json',
    ])
    expect(accepted('text/plain;a="\\"", application/json')).toEqual([
      'application/json',
      'text/plain',
    ])
  })

  it('keeps wildcards as written: they name neither MCP type', () => {
    expect(accepted('*/*')).toEqual(['*/*'])
    expect(accepted('application/*, text/*')).toEqual(['application/*', 'text/*'])
  })

  it('finds no type in what is not one', () => {
    expect(accepted(null)).toEqual([])
    expect(accepted('')).toEqual([])
    expect(accepted(' , ;q=1,')).toEqual([])
    // Substrings are not types.
    expect(accepted('application/json-seq, text/event-streams')).toEqual([
      'application/json-seq',
      'text/event-streams',
    ])
  })
})

describe('withAcceptAsRead', () => {
  const request = (accept: string | undefined, init: RequestInit = {}) =>
    new Request('http://bridge.test/mcp', {
      ...init,
      headers: { 'X-User-Id': 'alice', ...(accept === undefined ? {} : { Accept: accept }) },
    })

  it('hands over the same request when the header says what it reads', () => {
    const sdk = request('application/json, text/event-stream')
    expect(withAcceptAsRead(sdk)).toBe(sdk)
    const none = request(undefined)
    expect(withAcceptAsRead(none)).toBe(none)
  })

  it('spells the MCP types it reads as the SDK checks them, other headers kept', () => {
    const upper = withAcceptAsRead(request('TEXT/EVENT-STREAM, APPLICATION/JSON;q=0.5'))
    expect(upper.headers.get('accept')).toBe('application/json, text/event-stream')
    expect(upper.headers.get('x-user-id')).toBe('alice')
    expect(withAcceptAsRead(request('text/event-stream;q=0')).headers.get('accept')).toBe('')
    expect(withAcceptAsRead(request('*/*')).headers.get('accept')).toBe('')
  })

  it('keeps the method and an unread body', async () => {
    const post = request('Application/Json, Text/Event-Stream', { method: 'POST', body: '{"a":1}' })
    const asRead = withAcceptAsRead(post)
    expect(asRead.method).toBe('POST')
    expect(await asRead.text()).toBe('{"a":1}')
  })
})
