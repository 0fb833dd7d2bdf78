import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { BodyTooLarge, PeerForwarder, PeerUnreachable } from './peer-forwarding.ts'

const forwarder = () =>
  new PeerForwarder({
    selfId: 'bridge-a',
    sharedSecret: 'peer-secret-0123456789abcdef0123456789',
    maxRequestBodyBytes: 1024,
  })

/** A peer on a free port; `onRequest` answers (or does not). */
async function peer(
  onRequest: Parameters<typeof createServer>[1]
): Promise<{ url: string; server: Server; sockets: Set<Socket> }> {
  const server = createServer(onRequest)
  const sockets = new Set<Socket>()
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  servers.push(server)
  return { url: `http://127.0.0.1:${port}`, server, sockets }
}
const servers: Server[] = []
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }
})

describe('PeerForwarder', () => {
  it('keeps Host and the identity headers, sets the secret and its own id, drops hop-by-hop ones', async () => {
    let seen: { headers: IncomingHttpHeaders; url: string | undefined; body: string } | undefined
    const target = await peer((request, response) => {
      let body = ''
      request.on('data', (chunk) => {
        body += chunk
      })
      request.on('end', () => {
        seen = { headers: request.headers, url: request.url, body }
        response.writeHead(200, { 'Content-Type': 'application/json', 'Mcp-Session-Id': 'x.1' })
        response.end('{"ok":true}')
      })
    })
    const sender = forwarder()
    const response = await sender.forward(
      new Request('http://public.example/mcp?probe=1', {
        method: 'POST',
        headers: {
          'X-User-Id': '42',
          'X-Bridge-Secret': 'what-the-client-sent',
          'Keep-Alive': 'timeout=5',
          'Mcp-Session-Id': 'x.1',
        },
        body: '{"jsonrpc":"2.0"}',
      }),
      target.url
    )
    expect(response.status).toBe(200)
    expect(response.headers.get('mcp-session-id')).toBe('x.1')
    expect(await response.json()).toEqual({ ok: true })
    expect(seen?.url).toBe('/mcp?probe=1')
    expect(seen?.body).toBe('{"jsonrpc":"2.0"}')
    expect(seen?.headers).toMatchObject({
      host: 'public.example',
      'x-user-id': '42',
      'x-bridge-secret': 'peer-secret-0123456789abcdef0123456789',
      'x-bridge-forwarded': 'bridge-a',
      'mcp-session-id': 'x.1',
    })
    expect(seen?.headers['keep-alive']).toBeUndefined()
    sender.close()
  })

  it('says the peer is unreachable when nothing listens, and refuses a body over the limit', async () => {
    const gone = await peer(() => {})
    const { url } = gone
    gone.server.close()
    const sender = forwarder()
    await expect(sender.forward(new Request('http://x/mcp'), url)).rejects.toBeInstanceOf(
      PeerUnreachable
    )
    const big = new Request('http://x/mcp', { method: 'POST', body: 'x'.repeat(2048) })
    await expect(sender.forward(big, url)).rejects.toBeInstanceOf(BodyTooLarge)
    sender.close()
  })

  it('sends once more when a pooled connection the peer dropped is reused', async () => {
    const served = new WeakSet<Socket>()
    let connections = 0
    const target = await peer((request, response) => {
      // A peer that closes a kept-alive connection just as it is reused.
      if (served.has(request.socket)) {
        request.socket.destroy()
        return
      }
      served.add(request.socket)
      response.end('ok')
    })
    target.server.on('connection', () => {
      connections += 1
    })
    const sender = forwarder()
    for (const attempt of [1, 2]) {
      const response = await sender.forward(
        new Request('http://x/mcp', { method: 'POST', body: `{"attempt":${attempt}}` }),
        target.url
      )
      expect(await response.text()).toBe('ok')
    }
    expect(connections).toBe(2)
    sender.close()
  })

  it('ends the request to the peer when the client goes away before the peer answers', async () => {
    let arrived = false
    const silent = await peer(() => {
      arrived = true
    })
    const client = new AbortController()
    const sender = forwarder()
    const forwarding = sender.forward(
      new Request('http://x/mcp', { signal: client.signal }),
      silent.url
    )
    await expect.poll(() => arrived).toBe(true)
    client.abort()
    await expect(forwarding).rejects.toThrow()
    // The connection to the peer is closed, not left waiting for an answer nobody reads.
    await expect.poll(() => silent.sockets.size).toBe(0)
    sender.close()
  })
})

describe('PeerForwarder streams', () => {
  /** A peer that opens an SSE stream, writes one event and leaves it open. */
  const streaming = () =>
    peer((_request, response) => {
      response.writeHead(200, { 'Content-Type': 'text/event-stream' })
      response.write('event: message\ndata: {"n":1}\n\n')
    })

  it('endStreams ends a forwarded GET stream cleanly and closes the connection to the peer', async () => {
    const target = await streaming()
    const sender = forwarder()
    const response = await sender.forward(new Request('http://x/mcp'), target.url)
    expect(response.headers.get('content-type')).toBe('text/event-stream')
    const reader = (response.body as ReadableStream<Uint8Array>).getReader()
    const first = await reader.read()
    expect(new TextDecoder().decode(first.value)).toContain('data: {"n":1}')
    sender.endStreams()
    // The stream ends for its reader (no error), and the peer's connection closes.
    expect((await reader.read()).done).toBe(true)
    await expect.poll(() => target.sockets.size).toBe(0)
    sender.close()
  })

  it('ends a forwarded GET whose answer begins after endStreams, as it begins', async () => {
    let answer: (() => void) | undefined
    const target = await peer((_request, response) => {
      answer = () => {
        response.writeHead(200, { 'Content-Type': 'text/event-stream' })
        response.write('event: message\ndata: {"n":1}\n\n')
      }
    })
    const sender = forwarder()
    const forwarded = sender.forward(new Request('http://x/mcp'), target.url)
    await expect.poll(() => answer).toBeDefined()
    sender.endStreams()
    answer?.()
    const response = await forwarded
    // Without waiting for the owner to end it (it never does): the reader is done at once.
    const ended = response.text().then(() => 'ended')
    const waiting = new Promise((resolve) => setTimeout(resolve, 5_000, 'still open').unref())
    expect(await Promise.race([ended, waiting])).toBe('ended')
    await expect.poll(() => target.sockets.size).toBe(0)
    sender.close()
  })

  it('ends an SSE answer the peer cuts short instead of erroring it, and says so', async () => {
    const target = await peer((_request, response) => {
      response.writeHead(200, { 'Content-Type': 'text/event-stream' })
      response.write('event: message\ndata: {"n":1}\n\n', () => response.socket?.destroy())
    })
    const cuts: Error[] = []
    const sender = new PeerForwarder({
      selfId: 'bridge-a',
      sharedSecret: undefined,
      maxRequestBodyBytes: 1024,
      onCut: (error) => cuts.push(error),
    })
    const response = await sender.forward(
      new Request('http://x/mcp', { method: 'POST', body: '{}' }),
      target.url
    )
    await expect(response.text()).resolves.toContain('data: {"n":1}')
    expect(cuts).toHaveLength(1)
    sender.close()
  })
})
