import { generateKeyPairSync } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { freePort } from '../support/free-port.ts'
import { startGatewayProcess } from '../support/gateway-process.ts'
import { startRedisOnPort } from '../support/redis-topologies.ts'
import { expectStartRefused } from '../support/store-failures.ts'

describe('an auth server started before its store', () => {
  it('waits for the store, then serves, rather than exiting', async () => {
    const redisPort = await freePort()
    let readOutput = () => ''
    const starting = startGatewayProcess(
      {
        GATEWAY_MODE: 'auth',
        REDIS_URL: `redis://127.0.0.1:${redisPort}/0`,
        ALLOWED_GITHUB_USERS: 'octocat',
      },
      {
        startTimeoutMs: 60_000,
        onSpawn: (output) => {
          readOutput = output
        },
      }
    )
    // Settled now so that a gateway exiting early fails the test below, not the run.
    const started = starting.then(
      (gateway) => ({ gateway }),
      (error: unknown) => ({ error })
    )
    // Redis comes up only once the gateway has found it missing (start-up time varies with load).
    await expect
      .poll(() => readOutput().includes('store_unavailable_at_start'), { timeout: 30_000 })
      .toBe(true)
    const redis = await startRedisOnPort(redisPort)
    try {
      const outcome = await started
      if ('error' in outcome) throw outcome.error
      const { gateway } = outcome
      try {
        const waits = gateway
          .output()
          .split('\n')
          .filter((line) => line.includes('store_unavailable_at_start'))
        // An outage named in one line, not a stack.
        expect(JSON.parse(waits[0] ?? '{}')).toMatchObject({
          reason: 'no connection could be made (refused, unreachable or unknown host)',
        })
        expect(waits.join('\n')).not.toContain('"stack"')
        expect((await fetch(`${gateway.url}/ready`)).status).toBe(200)
        const jwks = (await (await fetch(`${gateway.url}/jwks`)).json()) as { keys: unknown[] }
        expect(jwks.keys.length).toBeGreaterThan(0)
      } finally {
        await gateway.stop()
      }
    } finally {
      await redis.stop()
    }
  }, 90_000)

  it('serves at once with a pinned signing key, /ready saying 503 until the store answers', async () => {
    const redisPort = await freePort()
    const pinnedKey = Buffer.from(
      generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
        type: 'pkcs8',
        format: 'pem',
      })
    ).toString('base64')
    const gateway = await startGatewayProcess(
      {
        GATEWAY_MODE: 'auth',
        REDIS_URL: `redis://127.0.0.1:${redisPort}/0`,
        ALLOWED_GITHUB_USERS: 'octocat',
        JWT_PRIVATE_KEY_B64: pinnedKey,
      },
      { startTimeoutMs: 30_000 }
    )
    try {
      expect((await fetch(`${gateway.url}/health`)).status).toBe(200)
      expect((await fetch(`${gateway.url}/ready`)).status).toBe(503)
      const redis = await startRedisOnPort(redisPort)
      try {
        await expect
          .poll(async () => (await fetch(`${gateway.url}/ready`)).status, { timeout: 15_000 })
          .toBe(200)
      } finally {
        await redis.stop()
      }
    } finally {
      await gateway.stop()
    }
  }, 60_000)
})

describe('an auth server whose Redis refuses its password', () => {
  it('stops with one configuration line (exit 2) instead of waiting, pinned key or not', async () => {
    const redisPort = await freePort()
    const redis = await startRedisOnPort(redisPort, { password: 'the-Right-one-3' })
    try {
      const url = (userInfo: string) => `redis://${userInfo}127.0.0.1:${redisPort}/0`
      await expectStartRefused(url(':wrong-Secret-8@'), /wrong Redis password.*WRONGPASS/, false, [
        'wrong-Secret-8',
      ])
      await expectStartRefused(url(''), /missing.*NOAUTH/, true)
    } finally {
      await redis.stop()
    }
  }, 60_000)
})
