import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseExposition, sampleValue } from '../../tests/support/prometheus-text.ts'
import { createBridgeMetrics, metricsApp } from './bridge-metrics.ts'
import { parseBridgeConfig } from './config.ts'
import {
  connectClient,
  fixtureService,
  processAlive,
  startTestBridge,
  type TestBridge,
  textOf,
} from './testing/harness.ts'

const TOKEN = 'metrics-token-of-the-test-bridge-0123456789abcdef'

describe('the bridge metrics (METRICS_PORT, bearer METRICS_TOKEN)', () => {
  let bridge: TestBridge
  beforeAll(async () => {
    bridge = await startTestBridge(fixtureService)
  })
  afterAll(async () => {
    await bridge.close()
  })

  const scrape = (token: string | null) =>
    Promise.resolve(
      metricsApp(bridge.bridge.metrics.registry, TOKEN).request('http://bridge:9464/metrics', {
        headers: token === null ? {} : { Authorization: `Bearer ${token}` },
      })
    )
  const samples = async () => {
    const response = await scrape(TOKEN)
    expect(response.status).toBe(200)
    return parseExposition(await response.text())
  }

  it('refuses a scrape without the token or with a wrong one', async () => {
    for (const token of [null, 'wrong', `${TOKEN}x`]) {
      const response = await scrape(token)
      expect(response.status).toBe(401)
      expect(await response.json()).toMatchObject({ error: 'invalid_token' })
    }
  })

  it('exports the child counters alerts watch at 0 before any child', async () => {
    const fresh = createBridgeMetrics('fresh')
    const text = await fresh.registry.metrics()
    const started = parseExposition(text)
    for (const era of ['session', 'stateless']) {
      for (const cause of ['closed', 'exited']) {
        const exits = started.filter(
          (s) =>
            s.name === 'bridge_child_exits_total' &&
            s.labels.era === era &&
            s.labels.cause === cause
        )
        expect(
          exits.map((s) => s.value),
          `${era} ${cause}`
        ).toEqual([0])
      }
      const refused = started.filter(
        (s) => s.name === 'bridge_child_starts_refused_total' && s.labels.era === era
      )
      expect(
        refused.map((s) => s.value),
        era
      ).toEqual([0])
    }
  })

  it('counts a session, its child, its requests, and a child that exits by itself', async () => {
    const before = await samples()
    const { client, transport } = await connectClient(bridge.url, 'alice')
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'hi' } }))).toBe('hi')
    const during = await samples()
    expect(sampleValue(during, 'bridge_sessions', { service: 'fixture' })).toBe(1)
    expect(sampleValue(during, 'bridge_pooled_children')).toBe(0)
    const pid = Number(textOf(await client.callTool({ name: 'pid' })))
    await transport.terminateSession()
    expect(processAlive(pid)).toBe(false)

    // A second session whose child crashes: an exit the bridge did not ask for.
    const crashing = await connectClient(bridge.url, 'bob')
    await crashing.client.callTool({ name: 'crash' }).catch(() => undefined)
    await expect.poll(async () => sampleValue(await samples(), 'bridge_sessions')).toBe(0)
    await crashing.client.close().catch(() => undefined)

    const after = await samples()
    const moved = (name: string, labels: Record<string, string> = {}) =>
      sampleValue(after, name, labels) - sampleValue(before, name, labels)
    expect(moved('bridge_child_starts_total', { era: 'session' })).toBe(2)
    expect(moved('bridge_child_exits_total', { era: 'session', cause: 'closed' })).toBe(1)
    expect(moved('bridge_child_exits_total', { era: 'session', cause: 'exited' })).toBe(1)
    expect(moved('bridge_requests_total', { era: 'session', status: '2xx' })).toBeGreaterThan(3)
    expect(moved('bridge_request_duration_seconds_count', { era: 'session' })).toBeGreaterThan(3)
  })
})

describe('the metrics listener configuration', () => {
  it('refuses METRICS_PORT without METRICS_TOKEN, or on the bridge port', () => {
    expect(() => parseBridgeConfig({ METRICS_PORT: '9464' })).toThrow(/METRICS_TOKEN/)
    expect(() =>
      parseBridgeConfig({ PORT: '3000', METRICS_PORT: '3000', METRICS_TOKEN: TOKEN })
    ).toThrow(/METRICS_PORT/)
    expect(parseBridgeConfig({ METRICS_PORT: '9464', METRICS_TOKEN: TOKEN }).metrics).toEqual({
      port: 9464,
      token: TOKEN,
    })
    expect(parseBridgeConfig({}).metrics).toBeUndefined()
  })
})
