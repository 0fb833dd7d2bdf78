import { describe, expect, it } from 'vitest'
import type { ServiceDefinition } from './catalog.ts'
import { fixtureService, startTestBridge } from './testing/harness.ts'
import { postModern } from './testing/modern-client.ts'

const silentService: ServiceDefinition = {
  ...fixtureService,
  name: 'silent',
  launch: { kind: 'module', path: './testing/silent-server.ts' },
}

describe('a pooled child that never answers initialize', { timeout: 60_000 }, () => {
  it('is ended after the start bound, and its place is free again', async () => {
    const bridge = await startTestBridge(silentService, { childStartTimeoutMs: 1000 })
    try {
      const started = Date.now()
      const { status, json } = await postModern(bridge.url, 'alice', { method: 'tools/list' })
      expect(status).toBe(500)
      expect(json.error?.message).toMatch(/could not start/)
      expect(Date.now() - started).toBeLessThan(20_000)
      expect(bridge.bridge.pool.size).toBe(0)
    } finally {
      await bridge.close()
    }
  })

  it('does not hold up the bridge’s close', async () => {
    const bridge = await startTestBridge(silentService, { childStartTimeoutMs: 600_000 })
    const waiting = postModern(bridge.url, 'alice', { method: 'tools/list' }).catch(() => undefined)
    await expect.poll(() => bridge.bridge.pool.size, { timeout: 20_000 }).toBe(1)
    const closing = Date.now()
    await bridge.close()
    expect(Date.now() - closing).toBeLessThan(20_000)
    expect(bridge.bridge.pool.size).toBe(0)
    await waiting
  })
})
