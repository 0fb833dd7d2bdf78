import { once } from 'node:events'
import { createServer, request as httpRequest, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import { gracefulClose } from './http-server.ts'

describe('gracefulClose', () => {
  it('answers a request in flight with Connection: close, even when its handler says keep-alive', async () => {
    let answer: () => void = () => {}
    const answered = new Promise<void>((resolve) => {
      answer = resolve
    })
    const server = createServer(async (_request, response) => {
      await answered
      // As the SDK's event stream writes its head.
      response.writeHead(200, { 'Content-Type': 'text/plain', Connection: 'keep-alive' })
      response.end('done')
    }).listen(0, '127.0.0.1')
    await once(server, 'listening')
    const close = gracefulClose(server)
    const { port } = server.address() as AddressInfo
    const reply = new Promise<IncomingMessage>((resolve, reject) => {
      httpRequest({ port, host: '127.0.0.1', path: '/', agent: false }, resolve)
        .on('error', reject)
        .end()
    })
    await new Promise((resolve) => setTimeout(resolve, 50))
    const closed = close(5_000)
    answer()
    const response = await reply
    response.resume()
    expect(response.headers.connection).toBe('close')
    expect(await closed).toBe('drained')
  })
})
