import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { admin } from '../support/admin-cli.ts'
import type { FakeGitHub } from '../support/fake-github.ts'
import type { GatewayProcess } from '../support/gateway-process.ts'
import {
  OCTOCAT,
  signInThroughSdk,
  startGatewayWithGitHub,
  verifyAtGateway,
} from '../support/gateway-with-github.ts'
import { type RedisSentinels, startRedisSentinels } from '../support/redis-topologies.ts'

/**
 * The gateway on a master and a replica watched by three Sentinels (`redis-sentinel://`). The
 * master is killed while `/verify`, refreshes and registrations run; the Sentinels promote the
 * replica. Nothing the gateway acknowledged is lost, and `/verify` never answers another 5xx.
 */
describe('Redis Sentinel failover under load', () => {
  let redis: RedisSentinels
  let github: FakeGitHub
  let gateway: GatewayProcess
  beforeAll(async () => {
    redis = await startRedisSentinels(3)
    ;({ github, gateway } = await startGatewayWithGitHub([OCTOCAT], {
      REDIS_URL: redis.url,
      ALLOWED_GITHUB_USERS: 'octocat',
      TOKEN_RATE_LIMIT: '100000',
      REGISTRATION_RATE_LIMIT: '100000',
      REGISTRATION_GLOBAL_RATE_LIMIT: '100000',
    }))
  })
  afterAll(async () => {
    await gateway?.stop()
    await github?.close()
    await redis?.stop()
  })

  const verify = (accessToken: string) => verifyAtGateway(gateway, accessToken)

  interface Chain {
    readonly client: { client_id: string; client_secret: string }
    /** The last tokens the gateway acknowledged (answered 200 for). */
    tokens: { access_token: string; refresh_token: string }
  }

  const refresh = (chain: Chain) =>
    fetch(`${gateway.url}/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        ...chain.client,
        grant_type: 'refresh_token',
        refresh_token: chain.tokens.refresh_token,
      }).toString(),
    })

  const register = () =>
    fetch(`${gateway.url}/register`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        client_name: 'failover',
        redirect_uris: ['https://claude.ai/api/mcp/auth_callback'],
        token_endpoint_auth_method: 'client_secret_post',
      }),
    })

  const signIn = (): Promise<Chain> => signInThroughSdk(gateway)

  it('loses nothing acknowledged and answers /verify with 200/401/403/503 only', async () => {
    const chains = [await signIn(), await signIn()]
    const verifyStatuses = new Map<number, number>()
    const refreshStatuses = new Map<number, number>()
    const count = (map: Map<number, number>, status: number) =>
      map.set(status, (map.get(status) ?? 0) + 1)
    const registered: { uri: string; token: string }[] = []
    let running = true
    const pause = () => new Promise((resolve) => setTimeout(resolve, 20))

    const verifying = chains.map(async (chain) => {
      while (running) {
        count(verifyStatuses, (await verify(chain.tokens.access_token)).status)
        await pause()
      }
    })
    const refreshing = chains.map(async (chain) => {
      while (running) {
        const response = await refresh(chain)
        count(refreshStatuses, response.status)
        if (response.status === 200) chain.tokens = (await response.json()) as Chain['tokens']
        else await response.body?.cancel()
        await pause()
      }
    })
    const registering = (async () => {
      while (running) {
        const response = await register()
        if (response.status === 201) {
          const client = (await response.json()) as Record<string, string>
          registered.push({
            uri: client.registration_client_uri ?? '',
            token: client.registration_access_token ?? '',
          })
        } else await response.body?.cancel()
        await pause()
      }
    })()

    const unexpectedRefresh = () => [...refreshStatuses.keys()].some((s) => s !== 200 && s !== 503)
    let acknowledgedBefore = 0
    try {
      await new Promise((resolve) => setTimeout(resolve, 1_500))
      const oldPort = await redis.currentMaster()
      const crashed = redis.data.find(({ port }) => port === oldPort)
      const replica = redis.data.find(({ port }) => port !== oldPort)
      if (!crashed || !replica) throw new Error('no master to crash')
      acknowledgedBefore = refreshStatuses.get(200) ?? 0
      // The replica stalls (as under load), so the master's last writes have not reached it when
      // the master dies: only writes the replica confirmed may have been acknowledged.
      const stalled = redis.cli(replica.port, 'debug', 'sleep', '0.8')
      await new Promise((resolve) => setTimeout(resolve, 400))
      await redis.crash(crashed)
      await stalled
      await expect.poll(() => redis.currentMaster(), { timeout: 20_000 }).not.toBe(oldPort)
      // A supervisor brings the old master back as the new master's replica.
      await redis.restart(crashed, await redis.currentMaster())
      const before = chains.map((chain) => chain.tokens.refresh_token)
      // Every chain refreshes again (or one was refused: a lost rotation, reported below).
      await expect
        .poll(
          () =>
            unexpectedRefresh() ||
            chains.every((chain, i) => chain.tokens.refresh_token !== before[i]),
          { timeout: 30_000 }
        )
        .toBe(true)
    } finally {
      running = false
      await Promise.allSettled([...verifying, ...refreshing, registering])
    }

    expect(acknowledgedBefore).toBeGreaterThan(0)
    expect(registered.length).toBeGreaterThan(0)
    const unexpected = [...verifyStatuses.keys()].filter((s) => ![200, 401, 403, 503].includes(s))
    expect(unexpected, JSON.stringify([...verifyStatuses])).toEqual([])
    expect(verifyStatuses.get(200)).toBeGreaterThan(0)
    // A refresh refused after the failover would be an acknowledged rotation that was lost.
    expect(unexpectedRefresh(), JSON.stringify([...refreshStatuses])).toBe(false)

    // Every acknowledged write is there on the new master: the last tokens of each chain work,
    // every registration answered 201 is still registered.
    for (const chain of chains) {
      expect((await verify(chain.tokens.access_token)).status).toBe(200)
      const next = await refresh(chain)
      expect(next.status, await next.clone().text()).toBe(200)
    }
    for (const { uri, token } of registered) {
      const read = await fetch(uri, { headers: { Authorization: `Bearer ${token}` } })
      expect(read.status, uri).toBe(200)
    }
  }, 90_000)

  it('runs the admin CLI on the Sentinels, which then exits', async () => {
    // Closing only the data connection left the Sentinel client's failover watch open: the CLI
    // printed its answer and never exited (a nightly backup job would pile up).
    const counted = await admin(['--json', 'clients', 'count'], { REDIS_URL: redis.url }, 20_000)
    expect(counted.code, counted.stderr).toBe(0)
    expect(JSON.parse(counted.stdout)).toMatchObject({ total: expect.any(Number) })
  }, 30_000)
})
