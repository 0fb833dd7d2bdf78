import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listenerOptions } from '../../../mcp-services/src/http-server.ts'
import {
  createTestAuthServer,
  ECHO_FORWARDED_HEADERS,
  type TestAuthServer,
} from '../../../tests/support/auth-app.ts'
import {
  CUT_WITHIN_MS,
  SMALL_LISTENER_TIMEOUTS as SMALL,
} from '../../../tests/support/listener-timeouts.ts'
import { sendRaw } from '../../../tests/support/raw-http.ts'
import { publicRequestListener } from './forward-auth-listener.ts'

/** Headers that announce 100 bytes of body, then 10 of them. */
const shortBody = (path: string, headers: Record<string, string>) =>
  [
    `POST ${path} HTTP/1.1`,
    'Host: localhost:8080',
    'Content-Length: 100',
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    '',
    '{"client_i',
  ].join('\r\n')
const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' }

/**
 * The public port as `main.ts` builds it (the app behind the `/verify` listener, with the
 * listener options of every gateway port), holding clients that promise more than they send.
 */
describe('the public listener and a request body that never arrives', () => {
  let server: TestAuthServer
  let listener: Server
  let port: number
  beforeAll(async () => {
    server = await createTestAuthServer()
    listener = createServer(
      listenerOptions(SMALL),
      publicRequestListener(server.app, server.forwardAuth)
    )
    listener.listen(0, '127.0.0.1')
    await once(listener, 'listening')
    port = (listener.address() as AddressInfo).port
  })
  afterAll(async () => {
    listener.closeAllConnections()
    listener.close()
    await server.close()
  })

  it.each([
    ['/register', { 'Content-Type': 'application/json' }],
    ['/token', FORM],
    ['/revoke', FORM],
    ['/authorize', FORM],
  ])('answers 408 and closes the connection at %s within the bound', async (path, headers) => {
    const { received, closedAfterMs } = await sendRaw(port, shortBody(path, headers))
    expect(received).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/)
    expect(closedAfterMs).toBeGreaterThanOrEqual(SMALL.requestMs - 50)
    expect(closedAfterMs).toBeLessThan(CUT_WITHIN_MS)
  })

  it('answers /verify at once and still closes the connection the body never finishes', async () => {
    const { received, closedAfterMs } = await sendRaw(
      port,
      shortBody('/verify', ECHO_FORWARDED_HEADERS)
    )
    expect(received).toMatch(/^HTTP\/1\.1 401 Unauthorized\r\n/)
    expect(closedAfterMs).toBeLessThan(CUT_WITHIN_MS)
  })

  it('answers 408 to headers that never end', async () => {
    const { received } = await sendRaw(port, 'GET /health HTTP/1.1\r\nHost: localhost:8080\r\n')
    expect(received).toMatch(/^HTTP\/1\.1 408 /)
  })

  it('goes on serving, and logs no failure of its own for the cut requests', async () => {
    const health = await fetch(`http://127.0.0.1:${port}/health`)
    expect(health.status).toBe(200)
    expect(server.logs.filter((line) => Number(line.level) >= 50)).toEqual([])
  })
})
