import { randomUUID } from 'node:crypto'
import type { ChainableCommander, Redis } from 'ioredis'
import { rememberConsent } from '../../auth/src/authorization/consent.ts'
import { registerClient } from '../../auth/src/clients/client-registry.ts'
import { type Clock, systemClock } from '../../auth/src/clock.ts'
import type { Config } from '../../auth/src/config.ts'
import { issueAccessToken } from '../../auth/src/oauth/access-token.ts'
import type { Store } from '../../auth/src/store/store.ts'
import { startRefreshFamily } from '../../auth/src/tokens/refresh-tokens.ts'
import { BENCH_PREFIX, startBenchGateway } from './bench-gateway.ts'
import { makeRefreshPool } from './refresh-pool.ts'
import { ms } from './wrk.ts'

export interface StoreSizeRow {
  /** Refresh families, clients and consents stored (each). */
  readonly size: number
  readonly fillSeconds: number
  readonly usedMemoryMb: number
  readonly verify: { p50: number; p99: number }
  readonly refresh: { p50: number; p99: number }
}

/** Users of the bulk data: four families (and four clients, four consents) each. */
const PER_USER = 4

/**
 * `/verify` and `/token` (refresh) latency as the store grows: a real Redis filled with `size`
 * live refresh families, clients and consents (each written by the gateway's own functions, so the
 * key format is the code's), then, at each size, `samples` sequential `/verify` requests each with
 * a token never seen before (signature checked, revocation read: nothing cached) and `samples`
 * sequential refreshes rotating a pool of 100 families, over HTTP to the app in this process.
 * Flat figures mean no hot path scans. Sizes grow in place (1e3, then 1e5 more, ...).
 */
export async function benchStoreSize(
  sizes: readonly number[] = [1_000, 100_000],
  samples = 2_000
): Promise<StoreSizeRow[]> {
  const gateway = await startBenchGateway()
  const { issuer, config, deps, app, control, github } = gateway
  const rows: StoreSizeRow[] = []
  try {
    const pool = await makeRefreshPool(app, deps, github, issuer, 100)
    let stored = 0
    for (const size of sizes) {
      const started = performance.now()
      await fill(control, BENCH_PREFIX, systemClock, config, issuer, stored, size)
      const fillSeconds = (performance.now() - started) / 1000
      stored = size
      const memory = String(await control.info('memory'))
      const usedMemoryMb = Number(/used_memory:(\d+)/.exec(memory)?.[1]) / 2 ** 20

      const tokens = await Promise.all(
        Array.from({ length: samples }, (_, i) =>
          issueAccessToken(
            {
              issuer,
              subject: { id: String(i), login: `reader${i}` },
              clientId: pool.clientId,
              audience: [`${issuer}/echo/mcp`],
              scope: 'mcp',
              ttlSeconds: 3600,
              familyId: randomUUID(),
            },
            deps.signingKeys,
            systemClock
          ).then((issued) => issued.token)
        )
      )
      const verifyTimes: number[] = []
      for (const token of tokens) {
        const t0 = performance.now()
        const response = await fetch(`${issuer}/verify`, {
          headers: {
            Authorization: `Bearer ${token}`,
            'X-Forwarded-Proto': 'http',
            'X-Forwarded-Host': new URL(issuer).host,
            'X-Forwarded-Uri': '/echo/mcp',
            'X-Forwarded-Method': 'POST',
          },
        })
        await response.arrayBuffer()
        verifyTimes.push(performance.now() - t0)
        if (response.status !== 200) throw new Error(`/verify answered ${response.status}`)
      }
      const refreshTimes: number[] = []
      for (let i = 0; i < samples; i++) {
        const slot = i % pool.tokens.length
        const t0 = performance.now()
        const response = await fetch(`${issuer}/token`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({
            grant_type: 'refresh_token',
            client_id: pool.clientId,
            refresh_token: pool.tokens[slot] as string,
          }).toString(),
        })
        const text = await response.text()
        refreshTimes.push(performance.now() - t0)
        if (response.status !== 200) throw new Error(`refresh answered ${response.status}: ${text}`)
        pool.tokens[slot] = (JSON.parse(text) as { refresh_token: string }).refresh_token
      }
      rows.push({
        size,
        fillSeconds,
        usedMemoryMb,
        verify: percentiles(verifyTimes),
        refresh: percentiles(refreshTimes),
      })
      process.stderr.write(`store size ${size}: filled in ${fillSeconds.toFixed(0)} s\n`)
    }
  } finally {
    await gateway.close()
  }
  const lines = [
    `/verify (a new token each request) and /token refresh latency as the store grows: ${samples} sequential requests each over HTTP; N live refresh families, N clients and N consents (N/${PER_USER} users)`,
    '| N | /verify p50 | /verify p99 | refresh p50 | refresh p99 | Redis used memory | fill time |',
    '|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.size.toLocaleString('en')} | ${ms(r.verify.p50)} | ${ms(r.verify.p99)} | ${ms(r.refresh.p50)} | ${ms(r.refresh.p99)} | ${r.usedMemoryMb.toFixed(0)} MB | ${r.fillSeconds.toFixed(0)} s |`
    ),
  ]
  process.stdout.write(`${lines.join('\n')}\n`)
  return rows
}

/**
 * Adds items `from`..`to`-1: for each a registered client, its user's consent and a refresh
 * family, made by the same functions `/register`, the consent page and `/token` use (so keys and
 * values are the code's), but written through a store that queues their writes in one Redis
 * pipeline per chunk instead of a round trip (and a MULTI) each: a million of each in minutes.
 */
async function fill(
  redis: Redis,
  prefix: string,
  clock: Clock,
  config: Config,
  issuer: string,
  from: number,
  to: number
): Promise<void> {
  const resources = [`${issuer}/echo/mcp`]
  const scopes = ['mcp', 'offline_access']
  const redirectUris = ['https://claude.ai/api/mcp/auth_callback']
  const chunk = 5_000
  for (let start = from; start < to; start += chunk) {
    const pipeline = redis.pipeline()
    const store = pipelinedStore(pipeline, prefix)
    const registry = {
      store,
      clock,
      clientLifetime: config.ttl.client,
      clientUnusedLifetime: config.ttl.unusedClient,
    }
    const made: Promise<void>[] = []
    for (let i = start; i < Math.min(to, start + chunk); i++) {
      made.push(
        (async () => {
          const { client } = await registerClient(registry, {
            redirect_uris: redirectUris,
            token_endpoint_auth_method: 'none',
            grant_types: ['authorization_code', 'refresh_token'],
            response_types: ['code'],
            client_name: `Client ${i}`,
          })
          const userId = String(1_000_000 + Math.floor(i / PER_USER))
          await rememberConsent(
            store,
            clock,
            { userId, clientId: client.client_id, scopes, resources, redirectUris },
            config.ttl.client
          )
          await startRefreshFamily(
            store,
            clock,
            {
              familyId: randomUUID(),
              clientId: client.client_id,
              subject: { id: userId, login: `user${userId}` },
              scopes,
              resources,
              grantType: 'authorization_code',
            },
            { refreshTokenTtl: config.ttl.refreshToken, accessTokenTtl: config.ttl.accessToken }
          )
        })()
      )
    }
    await Promise.all(made)
    await pipeline.exec()
  }
}

/**
 * The writes of `put` and `batch` as `redis-store.ts` sends them (a set's lifetime set or
 * lengthened with `EXPIRE NX` then `GT`), queued in `pipeline`; reads find nothing (every item is
 * new). Only what the fill's functions call is here.
 */
function pipelinedStore(pipeline: ChainableCommander, prefix: string): Store {
  const k = (key: string) => `${prefix}${key}`
  const put = (key: string, value: string, ttlSeconds?: number, onlyIfAbsent?: boolean) => {
    const args: (string | number)[] = [k(key), value]
    if (ttlSeconds) args.push('EX', ttlSeconds)
    if (onlyIfAbsent) args.push('NX')
    pipeline.call('SET', ...args)
  }
  const partial: Partial<Store> = {
    get: async () => null,
    getMany: async (keys) => keys.map(() => null),
    put: async (key, value, options) => {
      put(key, value, options?.ttlSeconds, options?.onlyIfAbsent)
      return true
    },
    batch: async (operations) => {
      for (const operation of operations) {
        if (operation.op === 'put') put(operation.key, operation.value, operation.ttlSeconds)
        else if (operation.op === 'delete') pipeline.del(k(operation.key))
        else if (operation.op === 'removeFromSet') pipeline.srem(k(operation.key), operation.member)
        else {
          pipeline.sadd(k(operation.key), operation.member)
          if (operation.ttlSeconds) {
            pipeline.expire(k(operation.key), operation.ttlSeconds, 'NX')
            pipeline.expire(k(operation.key), operation.ttlSeconds, 'GT')
          }
        }
      }
      // The fill writes families nobody revokes: the guard's key is never there.
      return true
    },
  }
  return partial as Store
}

function percentiles(values: readonly number[]): { p50: number; p99: number } {
  const sorted = [...values].sort((a, b) => a - b)
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0
  return { p50: at(0.5), p99: at(0.99) }
}

if (import.meta.main) await benchStoreSize()
