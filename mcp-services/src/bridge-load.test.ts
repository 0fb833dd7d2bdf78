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
    const bridge = await startTestBridge(fixtureService, {
      maxSessions: 100,
      maxSessionsPerUser: 100,
    })
    const pids: number[] = []
    try {
      const sessions = await Promise.all(
        Array.from({ length: 100 }, (_, index) => connectClient(bridge.url, `user-${index % 10}`))
      )
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
  }, 90_000)
})
