import { once } from 'node:events'
import type { Server } from 'node:http'
import { type AddressInfo, connect, type Socket } from 'node:net'
import { serve } from '@hono/node-server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestAuthServer, type TestAuthServer } from '../../../tests/support/auth-app.ts'
import { DISCARDED_BODY_BYTES, MAX_BODY_BYTES } from './body.ts'

/** The raw bytes a socket receives until the server closes it (or `ms` pass). */
function received(socket: Socket, ms = 5_000): Promise<{ text: string; closed: boolean }> {
  let text = ''
  socket.on('data', (chunk: Buffer) => {
    text += chunk.toString('latin1')
  })
  // The server may close while we are still sending: EPIPE/ECONNRESET on our side.
  socket.on('error', () => {})
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ text, closed: false }), ms)
    socket.once('close', () => {
      clearTimeout(timer)
      resolve({ text, closed: true })
    })
  })
}

function head(text: string): { status: number; headers: Record<string, string> } {
  const [statusLine = '', ...lines] = (text.split('\r\n\r\n')[0] ?? '').split('\r\n')
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const colon = line.indexOf(':')
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
  }
  return { status: Number(statusLine.split(' ')[1]), headers }
}

describe('request bodies on a real connection', () => {
  let server: TestAuthServer
  let http: Server
  let port: number
  beforeAll(async () => {
    server = await createTestAuthServer()
    http = serve({ fetch: server.app.fetch, hostname: '127.0.0.1', port: 0 }) as Server
    await once(http, 'listening')
    port = (http.address() as AddressInfo).port
  })
  afterAll(async () => {
    http.close()
    await server.close()
  })

  const open = async () => {
    const socket = connect(port, '127.0.0.1')
    await once(socket, 'connect')
    return socket
  }
  const requestHead = (framing: string) =>
    `POST /token HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\n${framing}\r\n\r\n`

  it('answers 413 with Connection: close to a chunked upload, then closes', async () => {
    const socket = await open()
    const answer = received(socket)
    socket.write(requestHead('Transfer-Encoding: chunked'))
    const chunk = 'x'.repeat(16 * 1024)
    // Far more than the server reads before refusing; the client keeps sending as clients do.
    for (let sent = 0; sent < 64 * MAX_BODY_BYTES; sent += chunk.length) {
      if (socket.destroyed) break
      socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`)
    }
    socket.write('0\r\n\r\n')
    // The client's next request on the same connection: it must not be left to be reset.
    socket.write('GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n')
    const { text, closed } = await answer
    const { status, headers } = head(text)
    expect(status).toBe(413)
    expect(headers.connection).toBe('close')
    expect(headers['keep-alive']).toBeUndefined()
    expect(text).toContain('"error":"invalid_request"')
    expect(closed).toBe(true)
  })

  it('answers 413 with Connection: close, at once, to a declared length past what it discards', async () => {
    const socket = await open()
    const answer = received(socket)
    socket.write(requestHead(`Content-Length: ${DISCARDED_BODY_BYTES + 1}`))
    const { text } = await answer
    const { status, headers } = head(text)
    expect(status).toBe(413)
    expect(headers.connection).toBe('close')
  })

  // A client that writes its whole body before reading must read a 413, not a reset.
  it('reads an oversized body up to what it discards, then answers 413 on a kept connection', async () => {
    const socket = await open()
    const answer = received(socket, 2_000)
    const size = 1_000_000
    socket.write(requestHead(`Content-Length: ${size}`))
    socket.write('a'.repeat(size))
    socket.write('GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n')
    const { text, closed } = await answer
    socket.destroy()
    expect(closed).toBe(false)
    expect(head(text).status).toBe(413)
    expect(head(text).headers.connection).not.toBe('close')
    expect(text).toContain('the request body exceeds 65536 bytes')
    expect(text.match(/HTTP\/1\.1 \d{3}/g)).toEqual(['HTTP/1.1 413', 'HTTP/1.1 200'])
  })

  it('keeps the connection open after a body within the limit', async () => {
    const socket = await open()
    const answer = received(socket, 1_000)
    const body = 'grant_type=nonsense'
    socket.write(requestHead(`Content-Length: ${body.length}`) + body)
    socket.write('GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n')
    const { text, closed } = await answer
    socket.destroy()
    expect(closed).toBe(false)
    expect(text.match(/HTTP\/1\.1 \d{3}/g)).toHaveLength(2)
  })

  // `/register` counts the caller in the store before it reads the body: the request may be
  // over by then, and its reading must still end.
  it.each(['/register', '/token'])(
    'a client gone before %s reads its body: the handler still finishes',
    async (path) => {
      const before = server.logs.length
      const socket = connect(port, '127.0.0.1')
      await once(socket, 'connect')
      const type = path === '/register' ? 'application/json' : 'application/x-www-form-urlencoded'
      socket.end(
        `POST ${path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: ${type}\r\nContent-Length: 100\r\n\r\n{`
      )
      socket.destroy()
      await expect
        .poll(() =>
          server.logs.slice(before).some((line) => line.path === path || line.url === path)
        )
        .toBe(true)
    }
  )

  it.each(['/token', '/register', '/revoke'])(
    'a client going away mid-body is its own mistake at %s: no error line, no server error',
    async (path) => {
      const socket = connect(port, '127.0.0.1')
      await once(socket, 'connect')
      const type = path === '/register' ? 'application/json' : 'application/x-www-form-urlencoded'
      socket.write(
        `POST ${path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: ${type}\r\nContent-Length: 100\r\n\r\ngrant_type=`
      )
      await new Promise((resolve) => setTimeout(resolve, 200))
      socket.destroy()
      // The handler notices the abort and finishes; its request line is the last to appear.
      await expect
        .poll(() => server.logs.some((line) => line.path === path || line.url === path))
        .toBe(true)
      expect(server.logs.filter((line) => Number(line.level) >= 50)).toEqual([])
    }
  )
})
