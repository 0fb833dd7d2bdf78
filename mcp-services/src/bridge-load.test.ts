import { describe, expect, it } from 'vitest'
import {
  connectClient,
  fixtureService,
  processAlive,
  startTestBridge,
  textOf,
} from './testing/harness.ts'

describe('bridge with many sessions', () => {
  it('serves 100 concurrent sessions and leaves no child behind after shutdown', async () => {
    const minimal = {
      ...fixtureService,
      launch: { kind: 'module', path: './testing/minimal-server.ts' },
    } as const
    const bridge = await startTestBridge(minimal, {
      maxSessions: 100,
      maxSessionsPerUser: 100,
    })
    const pids: number[] = []
    try {
      // Opened in waves of 25 (a burst of 100 handshakes on 2 busy cores only measures the CPU),
      // then all 100 used at once.
      const sessions: Awaited<ReturnType<typeof connectClient>>[] = []
      for (let wave = 0; wave < 4; wave++) {
        const opened = await Promise.all(
          Array.from({ length: 25 }, (_, index) => connectClient(bridge.url, `user-${index % 10}`))
        )
        sessions.push(...opened)
      }
      const answers = await Promise.all(
        sessions.map(({ client }) => client.callTool({ name: 'pid' }))
      )
      pids.push(...answers.map((answer) => Number(textOf(answer))))
      expect(new Set(pids).size).toBe(100)
      expect(bridge.bridge.sessionCount()).toBe(100)
      expect(pids.every(processAlive)).toBe(true)
    } finally {
      await bridge.close()
    }
    expect(pids.filter(processAlive)).toEqual([])
    expect(bridge.bridge.sessionCount()).toBe(0)
    // Starting 100 processes takes seconds on a quiet machine and minutes on two busy cores.
  }, 300_000)
})
