import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectClient } from '../../mcp-services/src/testing/harness.ts'
import { type RunningProcess, startProcess } from '../proxies/support/processes.ts'
import { freePort } from '../support/free-port.ts'
import { sendRaw } from '../support/raw-http.ts'

const SECRET = 'metrics-process-secret-0123456789abcdef'
const TOKEN = 'metrics-process-token-0123456789abcdef'

/**
 * `npm run start:service -- echo` with `METRICS_PORT`: what a Prometheus scrape gets, and what a
 * client whose request the HTTP parser refuses gets.
 */
describe('a bridge process with METRICS_PORT', () => {
  let bridge: RunningProcess
  let port: number
  let metricsPort: number
  beforeAll(async () => {
    ;[port, metricsPort] = [await freePort(), await freePort()]
    bridge = await startProcess(
      process.execPath,
      ['mcp-services/src/main.ts', 'echo'],
      [port, metricsPort],
      {
        PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        BRIDGE_SHARED_SECRET: SECRET,
        METRICS_PORT: String(metricsPort),
        METRICS_TOKEN: TOKEN,
        // A typo of MAX_SESSIONS, which would leave the default in force without a word.
        MAX_SESION: '5',
      }
    )
  }, 30_000)
  afterAll(async () => {
    await bridge?.stop()
  })

  it('names a misspelt setting at start', () => {
    expect(bridge.output()).toMatch(
      /"event":"unknown_setting","name":"MAX_SESION","meant":"MAX_SESSIONS"/
    )
  })

  it('serves its requests and the process own metrics to the token only', async () => {
    const { client } = await connectClient(`http://127.0.0.1:${port}/mcp`, 'alice', {
      headers: { 'X-Bridge-Secret': SECRET },
    })
    await client.listTools()
    await client.close()

    const url = `http://127.0.0.1:${metricsPort}/metrics`
    expect((await fetch(url)).status).toBe(401)
    const response = await fetch(url, { headers: { Authorization: `Bearer ${TOKEN}` } })
    expect(response.status).toBe(200)
    const text = await response.text()
    expect(text).toMatch(/^bridge_requests_total\{era="session",status="2xx",service="echo"\} \d+/m)
    expect(text).toMatch(/^bridge_sessions\{service="echo"\} \d+/m)
    expect(text).toMatch(/^process_resident_memory_bytes\{service="echo"\} \d+/m)
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds\{service="echo"\} /m)
    // Prometheus' lint: only counters end in `_total`.
    const misnamed = [...text.matchAll(/^# TYPE (\S+) (\w+)$/gm)]
      .filter(([, name, type]) => name?.endsWith('_total') && type !== 'counter')
      .map(([, name]) => name)
    expect(misnamed).toEqual([])
  })

  it.each([
    [
      'headers over 16 KiB',
      `POST /mcp?x=${'x'.repeat(20_000)} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`,
      '431 Request Header Fields Too Large',
    ],
    ['a malformed request line', 'NOT HTTP\r\n\r\n', '400 Bad Request'],
  ])('answers %s in the JSON-RPC error shape, and closes', async (_case, bytes, status) => {
    const { received } = await sendRaw(port, bytes)
    // The metrics listener of the same process answers alike.
    const metrics = await sendRaw(metricsPort, bytes)
    expect(metrics.received.split('\r\n\r\n')[1]).toBe(received.split('\r\n\r\n')[1])
    const [head, body] = received.split('\r\n\r\n')
    expect(head).toMatch(new RegExp(`^HTTP/1.1 ${status}\r\n`))
    expect(head).toContain('Content-Type: application/json')
    expect(JSON.parse(body ?? '')).toEqual({
      jsonrpc: '2.0',
      error: { code: -32000, message: expect.stringContaining(status.slice(4)) },
      id: null,
    })
  })
})
