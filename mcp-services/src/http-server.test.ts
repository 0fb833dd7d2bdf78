import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { stream } from 'hono/streaming'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  CUT_WITHIN_MS,
  SMALL_LISTENER_TIMEOUTS as SMALL,
} from '../../tests/support/listener-timeouts.ts'
import { sendRaw } from '../../tests/support/raw-http.ts'
import { LISTENER_TIMEOUTS, listenerOptions } from './http-server.ts'

describe('listener timeouts', () => {
  let server: Server
  let port: number
  beforeAll(async () => {
    const app = new Hono()
      // A cut request ends the body read with an error; nobody is left to answer.
      .post('/echo', async (c) => c.text(String((await c.req.text().catch(() => '')).length)))
      .get('/slow-stream', (c) =>
        stream(c, async (body) => {
          for (let i = 0; i < 4; i++) {
            await body.write(`${i}\n`)
            await body.sleep(SMALL.requestMs / 2)
          }
        })
      )
      .get('/', (c) => c.text('ok'))
    server = serve({
      fetch: app.fetch,
      port: 0,
      hostname: '127.0.0.1',
      serverOptions: listenerOptions(SMALL),
    }) as Server
    await once(server, 'listening')
    port = (server.address() as AddressInfo).port
  })
  afterAll(() => {
    server.closeAllConnections()
    server.close()
  })

  it('answers 408 and closes a connection whose body stops short of its Content-Length', async () => {
    const { received, closedAfterMs } = await sendRaw(
      port,
      'POST /echo HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n0123456789'
    )
    expect(received).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/)
    expect(closedAfterMs).toBeGreaterThanOrEqual(SMALL.requestMs - 50)
    expect(closedAfterMs).toBeLessThan(CUT_WITHIN_MS)
  })

  it('answers 408 to headers that never end, within the headers bound', async () => {
    const { received, closedAfterMs } = await sendRaw(port, 'GET / HTTP/1.1\r\nHost: a\r\nX-Slow')
    expect(received).toMatch(/^HTTP\/1\.1 408 /)
    expect(closedAfterMs).toBeLessThan(SMALL.headersMs + SMALL.checkEveryMs + 1_000)
  })

  it('keeps an idle keep-alive connection past both bounds (a proxy pool reuses it)', async () => {
    const agentless = await fetch(`http://127.0.0.1:${port}/`)
    expect(agentless.headers.get('keep-alive')).toBe(`timeout=${SMALL.keepAliveMs / 1000}`)
    const request = 'GET / HTTP/1.1\r\nHost: a\r\n\r\n'
    const { connect } = await import('node:net')
    const socket = connect(port, '127.0.0.1')
    let received = ''
    socket.setEncoding('latin1').on('data', (chunk: string) => {
      received += chunk
    })
    socket.write(request)
    await new Promise((resolve) => setTimeout(resolve, SMALL.requestMs * 3))
    expect(socket.destroyed).toBe(false)
    socket.write(request)
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(received.match(/HTTP\/1\.1 200 OK/g)).toHaveLength(2)
    socket.destroy()
  })

  it('never cuts a response that streams longer than the request bound (SSE)', async () => {
    const response = await fetch(`http://127.0.0.1:${port}/slow-stream`)
    expect(await response.text()).toBe('0\n1\n2\n3\n')
  })

  it('serves a whole body sent in time', async () => {
    const response = await fetch(`http://127.0.0.1:${port}/echo`, {
      method: 'POST',
      body: 'x'.repeat(100_000),
    })
    expect(await response.text()).toBe('100000')
  })

  it('bounds production listeners at 30 s, and keeps idle connections past a 90 s proxy pool', () => {
    expect(LISTENER_TIMEOUTS.requestMs).toBe(30_000)
    expect(LISTENER_TIMEOUTS.keepAliveMs).toBeGreaterThan(90_000)
    // Node refuses (ERR_OUT_OF_RANGE) a headers bound above the request bound.
    const production = createServer(listenerOptions())
    expect(production.requestTimeout).toBe(30_000)
    expect(production.headersTimeout).toBeLessThanOrEqual(production.requestTimeout)
    expect(production.keepAliveTimeout).toBe(95_000)
  })
})
