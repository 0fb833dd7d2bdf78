import { afterEach, describe, expect, it } from 'vitest'
import type { Era } from './bridge-metrics.ts'
import type { ServiceDefinition } from './catalog.ts'
import type { BridgeConfig } from './config.ts'
import { CrashRate } from './crash-rate.ts'
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
import { postModern } from './testing/modern-client.ts'
import { openRawSession } from './testing/raw-client.ts'

/** A child that has already ended, by itself or because the bridge asked. */
const ended = (closeRequested = false) => ({ exited: Promise.resolve(), closeRequested })

describe('CrashRate', () => {
  const limits = { burst: 3, windowMs: 3000 }

  it('allows starts until the burst of crashes is spent, then one per window / burst', async () => {
    const clock = new ManualClock(0)
    const rate = new CrashRate(limits, clock.now)
    for (let crash = 0; crash < 3; crash++) {
      expect(rate.secondsToWait('alice')).toBe(0)
      rate.watch('alice', ended())
      await Promise.resolve()
    }
    expect(rate.secondsToWait('alice')).toBe(1)
    expect(rate.secondsToWait('bob')).toBe(0)
    clock.advance(999)
    expect(rate.secondsToWait('alice')).toBe(1)
    clock.advance(1)
    expect(rate.secondsToWait('alice')).toBe(0)
  })

  it('never counts a child the bridge ended', async () => {
    const rate = new CrashRate({ burst: 1, windowMs: 60_000 }, () => 0)
    for (let close = 0; close < 5; close++) rate.watch('alice', ended(true))
    await Promise.resolve()
    expect(rate.secondsToWait('alice')).toBe(0)
    expect(rate.size).toBe(0)
  })

  it('waits one token after a storm of simultaneous crashes, not the whole debt', async () => {
    const rate = new CrashRate({ burst: 2, windowMs: 60_000 }, () => 0)
    for (let crash = 0; crash < 10; crash++) rate.watch('alice', ended())
    await Promise.resolve()
    expect(rate.secondsToWait('alice')).toBe(30)
  })

  it('tells once each time a budget runs out, and counts failed starts', async () => {
    const clock = new ManualClock(0)
    const spent: [string, number][] = []
    const rate = new CrashRate(limits, clock.now, (userId, wait) => spent.push([userId, wait]))
    rate.countFailedStart('alice')
    rate.countFailedStart('alice')
    expect(spent).toEqual([])
    rate.countFailedStart('alice')
    expect(spent).toEqual([['alice', 1]])
    for (let crash = 0; crash < 4; crash++) rate.watch('alice', ended())
    await Promise.resolve()
    expect(spent).toHaveLength(1)
    clock.advance(3000)
    expect(rate.secondsToWait('alice')).toBe(0)
    for (let start = 0; start < 3; start++) rate.countFailedStart('alice')
    expect(spent).toEqual([
      ['alice', 1],
      ['alice', 1],
    ])
  })

  it('forgets a user once their bucket is full again', async () => {
    const clock = new ManualClock(0)
    const rate = new CrashRate(limits, clock.now)
    rate.watch('alice', ended())
    rate.watch('bob', ended())
    rate.watch('bob', ended())
    await Promise.resolve()
    rate.sweep(999)
    expect(rate.size).toBe(2)
    rate.sweep(1000)
    expect(rate.size).toBe(1)
    rate.sweep(2000)
    expect(rate.size).toBe(0)
  })
})

/**
 * A session-era `initialize` as `userId`, read to its end: the child's exit is known once the
 * answer is complete.
 */
async function initializeRaw(url: string, userId: string) {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      ...identityHeaders(userId),
      'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: {
        protocolVersion: '2025-11-25',
        capabilities: {},
        clientInfo: { name: 'raw', version: '0' },
      },
    }),
  })
  return { status: response.status, headers: response.headers, text: await response.text() }
}

/** A service whose process exits as soon as it starts: every request would start another. */
const crashingService: ServiceDefinition = {
  ...fixtureService,
  name: 'crashing',
  launch: { kind: 'module', path: './testing/crashing-server.ts' },
}

/** A service whose process starts and never answers anything, `initialize` included. */
const stuckService: ServiceDefinition = {
  ...fixtureService,
  name: 'stuck',
  launch: { kind: 'module', path: './testing/silent-server.ts' },
}

/** Three crashes at once, then one every 10 s of the test's clock. */
const threePerHalfMinute = { burst: 3, windowMs: 30_000 }

describe('a user whose MCP server crashes at start', { timeout: 60_000 }, () => {
  let bridge: TestBridge
  let clock: ManualClock
  const start = async (overrides: Partial<BridgeConfig> = {}) => {
    clock = new ManualClock()
    bridge = await startTestBridge(
      crashingService,
      { childCrashRate: threePerHalfMinute, ...overrides },
      { now: clock.now }
    )
  }
  afterEach(async () => {
    await bridge.close()
  })

  const counted = async (
    metric: 'childStarts' | 'childStartsRefused',
    era: Era
  ): Promise<number> => {
    const { values } = await bridge.bridge.metrics[metric].get()
    return values.find((value) => value.labels.era === era)?.value ?? 0
  }

  const initialize = (userId: string) => initializeRaw(bridge.url, userId)

  it('starts a bounded number of sessions, answers the rest 429, and not for another user', async () => {
    await start()
    const answers = []
    for (let attempt = 0; attempt < 10; attempt++) answers.push(await initialize('mallory'))
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, ...Array(7).fill(429)])
    expect(await counted('childStarts', 'session')).toBe(3)
    expect(await counted('childStartsRefused', 'session')).toBe(7)
    expect(answers[3]?.headers.get('retry-after')).toBe('10')
    expect(JSON.parse(answers[3]?.text ?? '')).toEqual({
      jsonrpc: '2.0',
      error: {
        code: -32000,
        message:
          "Too Many Requests: this user's MCP server processes keep exiting at start or by themselves; try again later",
      },
      id: null,
    })

    expect((await initialize('alice')).status).toBe(200)
    expect(await counted('childStarts', 'session')).toBe(4)

    clock.advance(10_000)
    expect((await initialize('mallory')).status).toBe(200)
    expect((await initialize('mallory')).status).toBe(429)
    expect(await counted('childStarts', 'session')).toBe(5)
  })

  it('bounds a concurrent burst by the session cap and the budget', async () => {
    await start({ maxSessionsPerUser: 4 })
    const answers = await Promise.all(Array.from({ length: 12 }, () => initialize('mallory')))
    expect(answers.filter((answer) => answer.status === 429).length).toBeGreaterThanOrEqual(5)
    expect(await counted('childStarts', 'session')).toBeLessThanOrEqual(4 + 3)
    expect((await initialize('mallory')).status).toBe(429)
  })

  it('holds the stateless era to the same budget, naming the refused request', async () => {
    await start()
    const statuses: number[] = []
    for (let call = 0; call < 8; call++) {
      const { status, json } = await postModern(bridge.url, 'mallory', {
        method: 'tools/list',
        id: call,
      })
      statuses.push(status)
      if (status === 429) expect(json).toMatchObject({ id: call, error: { code: -32000 } })
    }
    expect(statuses).toEqual([500, 500, 500, 429, 429, 429, 429, 429])
    expect(await counted('childStarts', 'stateless')).toBe(3)
    expect(await counted('childStartsRefused', 'stateless')).toBe(5)
    // One budget for both eras: switching era does not get round it.
    const session = await initialize('mallory')
    expect(session.status).toBe(429)
    expect(session.headers.get('retry-after')).toBe('10')

    expect((await postModern(bridge.url, 'alice', { method: 'tools/list' })).status).toBe(500)
    clock.advance(10_000)
    expect((await postModern(bridge.url, 'mallory', { method: 'tools/list' })).status).toBe(500)
    expect(await counted('childStarts', 'stateless')).toBe(5)
  })
})

describe('a user whose MCP server never answers initialize', { timeout: 60_000 }, () => {
  let bridge: TestBridge
  afterEach(async () => {
    await bridge.close()
  })

  it('spends the same budget on each start that times out, and the operator is told once', async () => {
    const { logger, lines } = capturedLogs('warn')
    // The budget's clock stands still: on a loaded machine five starts could outlast a refill.
    bridge = await startTestBridge(
      stuckService,
      { childCrashRate: threePerHalfMinute, childStartTimeoutMs: 200 },
      { logger, now: new ManualClock().now }
    )
    const statuses: number[] = []
    for (let call = 0; call < 5; call++) {
      statuses.push((await postModern(bridge.url, 'mallory', { method: 'tools/list' })).status)
    }
    expect(statuses).toEqual([500, 500, 500, 429, 429])
    const spent = lines.filter((line) => line.event === 'child_crash_budget_spent')
    expect(spent).toEqual([
      expect.objectContaining({ level: 40, user: 'mallory', retry_after_seconds: 10 }),
    ])
  })

  it('ends a session whose server does not answer the client’s initialize in time, spending the same budget', async () => {
    bridge = await startTestBridge(
      stuckService,
      { childCrashRate: threePerHalfMinute, childStartTimeoutMs: 200 },
      { now: new ManualClock().now }
    )
    const url = bridge.url
    const answers = []
    for (let attempt = 0; attempt < 5; attempt++) answers.push(await initializeRaw(url, 'mallory'))
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 429, 429])
    expect(answers[0]?.text).toContain('no answer to initialize within 200 ms')
    expect(bridge.bridge.sessionCount()).toBe(0)
  })
})

describe('a healthy user', { timeout: 60_000 }, () => {
  let bridge: TestBridge
  afterEach(async () => {
    await bridge.close()
  })

  it('is never limited, reusing a live child or opening one session after another', async () => {
    bridge = await startTestBridge(fixtureService, {
      childCrashRate: { burst: 1, windowMs: 60_000 },
      maxSessionsPerUser: 2,
    })
    for (let call = 0; call < 20; call++) {
      expect((await postModern(bridge.url, 'alice', { method: 'tools/list' })).status).toBe(200)
    }
    // One-shot clients never end their sessions: at the cap the bridge ends the oldest idle one.
    for (let run = 0; run < 6; run++) {
      const session = await openRawSession(bridge.url, 'bob')
      const answer = await session.post({ jsonrpc: '2.0', id: 1, method: 'tools/list' })
      expect(answer.status).toBe(200)
      await answer.text()
    }
    expect(bridge.bridge.sessionCount()).toBe(2)
  })

  it('is limited once a child crashes mid-call as often as the budget allows', async () => {
    bridge = await startTestBridge(fixtureService, {
      childCrashRate: { burst: 1, windowMs: 60_000 },
    })
    const { client } = await connectClient(bridge.url, 'carol')
    await expect(client.callTool({ name: 'crash' })).rejects.toThrow(/exited/)
    await expect(connectClient(bridge.url, 'carol')).rejects.toThrow(/429|Too Many Requests/)
    const { client: other } = await connectClient(bridge.url, 'dave')
    expect(textOf(await other.callTool({ name: 'echo', arguments: { text: 'ok' } }))).toBe('ok')
  })
})
