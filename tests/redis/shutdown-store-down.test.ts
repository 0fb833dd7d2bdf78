import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { type GatewayProcess, startGatewayProcess } from '../support/gateway-process.ts'
import { startRedisCluster } from '../support/redis-topologies.ts'

/**
 * A gateway asked to stop while its store is down still exits within the grace period
 * docs/operations.md sizes (`SHUTDOWN_DELAY + SHUTDOWN_TIMEOUT + 5 s`): withdrawing its replica
 * record and quitting the store are the shutdown's last steps, and they wait on Redis.
 */
describe('stopping while the store is down', () => {
  const stopTakes = async (gateway: GatewayProcess) => {
    const started = Date.now()
    gateway.child.kill('SIGTERM')
    await once(gateway.child, 'exit')
    return { ms: Date.now() - started, code: gateway.child.exitCode }
  }

  // Its QUIT, or a command queued while the client looks for a node, waited for ever.
  it('on a Cluster with no node up, within 2 s of the drain', async () => {
    const cluster = await startRedisCluster(3)
    const gateway = await startGatewayProcess({ REDIS_URL: cluster.url })
    try {
      await cluster.stop()
      await sleep(3_000)
      const stopped = await stopTakes(gateway)
      expect(stopped.code).toBe(0)
      expect(stopped.ms).toBeLessThan(4_000)
      expect(gateway.output()).toMatch(/"event":"stopped"/)
    } finally {
      await gateway.stop()
    }
  })
})
