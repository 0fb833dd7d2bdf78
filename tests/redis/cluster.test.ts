import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCommand } from '../../auth/src/cli/run-command.ts'
import { systemClock } from '../../auth/src/clock.ts'
import { loadConfig } from '../../auth/src/config.ts'
import { createRedisStore } from '../../auth/src/store/redis-store.ts'
import { admin } from '../support/admin-cli.ts'
import type { FakeGitHub } from '../support/fake-github.ts'
import type { GatewayProcess } from '../support/gateway-process.ts'
import {
  OCTOCAT,
  signInThroughSdk,
  startGatewayWithGitHub,
  verifyAtGateway,
} from '../support/gateway-with-github.ts'
import { startRedisServer } from '../support/redis-server.ts'
import { type RedisCluster, startRedisCluster } from '../support/redis-topologies.ts'

/**
 * The gateway on a real three-master Redis Cluster (`redis-cluster://`): every MULTI, Lua script
 * and MGET it sends stays within one slot (the hash-tagged prefix), and SCANs reach every master.
 */
describe('Redis Cluster', () => {
  let cluster: RedisCluster
  let github: FakeGitHub
  let gateway: GatewayProcess
  const env = () => ({
    REDIS_URL: cluster.url,
    REDIS_KEY_PREFIX: 'gateway:',
    ALLOWED_GITHUB_USERS: 'octocat',
  })
  beforeAll(async () => {
    cluster = await startRedisCluster(3)
    ;({ github, gateway } = await startGatewayWithGitHub([OCTOCAT], env()))
  })
  afterAll(async () => {
    await gateway?.stop()
    await github?.close()
    await cluster?.stop()
  })

  const verify = (accessToken: string) => verifyAtGateway(gateway, accessToken)
  const form = (path: string, params: Record<string, string>) =>
    fetch(`${gateway.url}${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(params).toString(),
    })

  it('registers, authorizes, refreshes, verifies and revokes, with every key in one slot', async () => {
    const { client, tokens: issued } = await signInThroughSdk(gateway)
    expect((await verify(issued.access_token)).status).toBe(200)

    const credentials = { client_id: client.client_id, client_secret: client.client_secret }
    const refreshed = await form('/token', {
      ...credentials,
      grant_type: 'refresh_token',
      refresh_token: issued.refresh_token,
    })
    expect(refreshed.status).toBe(200)
    const tokens = (await refreshed.json()) as { access_token: string; refresh_token: string }
    expect((await verify(tokens.access_token)).status).toBe(200)

    const revoked = await form('/revoke', { ...credentials, token: tokens.refresh_token })
    expect(revoked.status).toBe(200)
    // `/verify` believes a "not revoked" answer for a second.
    await expect
      .poll(async () => (await verify(tokens.access_token)).status, { timeout: 5_000 })
      .toBe(401)

    // Every key the gateway wrote carries the tag, so all of them hash to one slot.
    const found: string[] = []
    for (const { port } of cluster.masters) {
      found.push(...(await cluster.cli(port, '--scan')).split('\n').filter(Boolean))
    }
    expect(found.length).toBeGreaterThan(5)
    expect(found.filter((key) => !key.startsWith('{gateway}:'))).toEqual([])

    // The admin CLI, SCAN-based, on the same URL.
    const listed = await admin(['--json', 'clients', 'list'], env())
    expect(listed.code).toBe(0)
    expect(JSON.parse(listed.stdout)).toEqual(
      expect.arrayContaining([expect.objectContaining({ client_id: client.client_id })])
    )

    // Moving between one server and a Cluster: a backup on one URL, a restore on the other. On
    // one server the keys keep their untagged names; back on the Cluster they are tagged again.
    const single = await startRedisServer()
    const dir = await mkdtemp(join(tmpdir(), 'gateway-move-'))
    try {
      const run = async (args: string[], url: string, prefix: string) => {
        const config = loadConfig({ AUTH_ISSUER: gateway.url, REDIS_URL: url })
        const store = createRedisStore(url, prefix)
        try {
          return (await runCommand({ config, store, clock: systemClock }, args)).data
        } finally {
          await store.close()
        }
      }
      await run(['backup', join(dir, 'cluster.json')], cluster.url, 'gateway:')
      await run(['restore', join(dir, 'cluster.json')], single.url, 'gateway:')
      const control = new Redis(single.url)
      expect(await control.exists(`gateway:client:${client.client_id}`)).toBe(1)
      await control.quit()
      await run(['backup', join(dir, 'single.json')], single.url, 'gateway:')
      await run(['restore', join(dir, 'single.json')], cluster.url, 'moved:')
      expect(await run(['clients', 'list'], cluster.url, 'moved:')).toEqual([
        expect.objectContaining({ client_id: client.client_id }),
      ])
      const tagged = await Promise.all(
        cluster.masters.map(({ port }) =>
          cluster.cli(port, '--scan', '--pattern', '{moved}:client:*')
        )
      )
      expect(tagged.join('').trim()).toBe(`{moved}:client:${client.client_id}`)
    } finally {
      await single.stop()
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('scans every master: gateways whose tags live on different masters all find their keys', async () => {
    const prefixes = Array.from({ length: 12 }, (_, i) => `tenant-${i}:`)
    const stores = prefixes.map((prefix) => createRedisStore(cluster.url, prefix))
    try {
      for (const [i, store] of stores.entries()) {
        await store.batch([
          { op: 'put', key: `client:c${i}`, value: 'x' },
          { op: 'addToSet', key: `user-families:u${i}`, member: 'f', ttlSeconds: 60 },
        ])
      }
      const holding = new Set<number>()
      for (const { port } of cluster.masters) {
        if ((await cluster.cli(port, '--scan', '--pattern', '{tenant-*')).trim()) holding.add(port)
      }
      expect(holding.size).toBeGreaterThan(1)
      for (const [i, store] of stores.entries()) {
        const keys: string[] = []
        for await (const key of store.scan('')) keys.push(key)
        expect(keys.sort()).toEqual([`client:c${i}`, `user-families:u${i}`])
      }
    } finally {
      await Promise.all(stores.map((store) => store.close()))
    }
  })
})
