import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { assertListenerGuarded, parseBridgeConfig } from './config.ts'
import { SHARED_SECRET_HEADER } from './shared-secret.ts'
import { capturedLogs } from './testing/captured-logs.ts'
import {
  connectClient,
  fixtureService,
  identityHeaders,
  startTestBridge,
  type TestBridge,
  textOf,
} from './testing/harness.ts'
import { ManualClock } from './testing/manual-clock.ts'
import { RAW_POST_HEADERS, rawInitialize } from './testing/raw-client.ts'

const SECRET = 'edge-secret-0123456789abcdef0123456789'
const INIT = rawInitialize('2025-06-18')
const POST_HEADERS = RAW_POST_HEADERS

describe('a bridge holding the edge’s shared secret', () => {
  let bridge: TestBridge
  beforeAll(async () => {
    bridge = await startTestBridge(fixtureService, {}, { sharedSecret: SECRET })
  })
  afterAll(() => bridge.close())

  const forged = (extra: Record<string, string>) =>
    fetch(bridge.url, {
      method: 'POST',
      headers: { ...POST_HEADERS, ...identityHeaders('victim'), ...extra },
      body: JSON.stringify(INIT),
    })

  it('refuses forged identity headers without the secret or with a wrong one, starting nothing', async () => {
    for (const extra of [
      {},
      { [SHARED_SECRET_HEADER]: '' },
      { [SHARED_SECRET_HEADER]: 'wrong' },
      { [SHARED_SECRET_HEADER]: SECRET.slice(0, -1) },
      { [SHARED_SECRET_HEADER]: `${SECRET}x` },
    ]) {
      const response = await forged(extra)
      expect(response.status, JSON.stringify(extra)).toBe(403)
      const body = (await response.json()) as { error: { code: number; message: string } }
      expect(body.error.code).toBe(-32000)
      expect(body.error.message).toMatch(/gateway/)
    }
    expect(bridge.bridge.sessionCount()).toBe(0)
  })

  it('refuses a request that knows a live session id but not the secret', async () => {
    const { client, transport } = await connectClient(bridge.url, 'victim', {
      headers: { [SHARED_SECRET_HEADER]: SECRET },
    })
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'hi' } }))).toBe('hi')
    const response = await fetch(bridge.url, {
      method: 'POST',
      headers: {
        ...POST_HEADERS,
        ...identityHeaders('victim'),
        'Mcp-Session-Id': transport.sessionId as string,
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
    })
    expect(response.status).toBe(403)
    await transport.terminateSession()
  })

  it('still answers its health check, which tells nothing of who uses it or how much', async () => {
    const response = await fetch(bridge.url.replace(/\/mcp$/, '/health'))
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ status: 'ok', service: 'fixture' })
  })
})

describe('a flood of requests without the secret', () => {
  it('is logged at most REFUSAL_LOG_RATE lines a second, the rest counted by reason', async () => {
    const { logger, lines } = capturedLogs()
    const clock = new ManualClock()
    const bridge = await startTestBridge(
      fixtureService,
      { refusalLogRate: 3 },
      { sharedSecret: SECRET, logger, now: clock.now }
    )
    try {
      const knock = (headers: Record<string, string>) =>
        fetch(bridge.url, {
          method: 'POST',
          headers: { ...POST_HEADERS, ...identityHeaders('victim'), ...headers },
          body: JSON.stringify(INIT),
        })
      for (let i = 0; i < 10; i += 1) {
        expect((await knock(i % 2 ? { [SHARED_SECRET_HEADER]: 'wrong' } : {})).status).toBe(403)
      }
      expect(lines.filter((line) => line.event === 'shared_secret_refused')).toHaveLength(3)
      clock.advance(1000)
      expect((await knock({})).status).toBe(403)
      expect(lines.filter((line) => line.event === 'shared_secret_refused')).toHaveLength(4)
      expect(lines.filter((line) => line.event === 'shared_secret_refused_suppressed')).toEqual([
        expect.objectContaining({ level: 40, suppressed: 7, reasons: { absent: 3, wrong: 4 } }),
      ])
    } finally {
      await bridge.close()
    }
  })
})

describe('starting a bridge on its own listener', () => {
  it('accepts loopback without a secret, and any address with one', () => {
    expect(() => assertListenerGuarded(parseBridgeConfig({}))).not.toThrow()
    expect(() => assertListenerGuarded(parseBridgeConfig({ HOST: '127.0.0.5' }))).not.toThrow()
    const guarded = parseBridgeConfig({ HOST: '0.0.0.0', BRIDGE_SHARED_SECRET: SECRET })
    expect(guarded.sharedSecret).toBe(SECRET)
    expect(() => assertListenerGuarded(guarded)).not.toThrow()
  })

  it('refuses a short or odd secret, naming the variable but not the value', () => {
    expect(() => parseBridgeConfig({ BRIDGE_SHARED_SECRET: 'short' })).toThrow(
      /BRIDGE_SHARED_SECRET/
    )
    expect(() => parseBridgeConfig({ BRIDGE_SHARED_SECRET: `${SECRET}"quote` })).toThrow(
      /BRIDGE_SHARED_SECRET/
    )
    expect(() => parseBridgeConfig({ BRIDGE_SHARED_SECRET: `${SECRET}"quote` })).not.toThrow(SECRET)
  })

  it('refuses to start beyond loopback without the secret', async () => {
    const main = fileURLToPath(new URL('./main.ts', import.meta.url))
    const child = spawn(process.execPath, [main, 'echo'], {
      env: { PATH: process.env.PATH, HOST: '0.0.0.0', PORT: '39917', BRIDGE_SHARED_SECRET: '' },
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let stderr = ''
    child.stderr.on('data', (chunk) => {
      stderr += chunk
    })
    // A bridge that starts anyway is stopped: the test must fail, not hang.
    const stop = setTimeout(() => child.kill('SIGTERM'), 5_000)
    const code = await new Promise((resolve) => child.once('close', resolve))
    clearTimeout(stop)
    expect(code).toBe(2)
    expect(stderr).toMatch(/BRIDGE_SHARED_SECRET is not set and HOST=0\.0\.0\.0/)
  })
})
