import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { systemClock } from '../../auth/src/clock.ts'
import { USER_CODE_ENTRY_LIMITS } from '../../auth/src/routes/device.ts'
import { DEVICE_AUTHORIZATION_LIMITS } from '../../auth/src/routes/device-authorization.ts'
import { createMemoryStore, type MemoryStore } from '../../auth/src/store/memory-store.ts'
import { createRedisStore } from '../../auth/src/store/redis-store.ts'
import type { Store } from '../../auth/src/store/store.ts'
import { startRefreshFamily } from '../../auth/src/tokens/refresh-tokens.ts'
import {
  type CodeForm,
  openCodeForm,
  randomWrongUserCode,
  submitUserCode,
} from '../support/device-page.ts'
import { type Caller, callerAt, type FloodGateway, startGateway } from '../support/flood-gateway.ts'
import { type RedisServer, startRedisServer } from '../support/redis-server.ts'

/**
 * Acceptance of the limits on anonymous writes: one caller floods each endpoint anyone may write
 * through (registration, device authorization, user-code entry, token requests) for 10 s, over
 * real HTTP from its own loopback address, with the default limits (the token limit lowered, see
 * below). The store grows by less than the bound each limit implies, and a second caller is served
 * normally meanwhile. Once on a real Redis (DBSIZE, INFO memory), once on the memory store, both
 * at the same time, so the file takes about 10 s.
 */
const FLOOD_MS = 10_000
const WORKERS = 4
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code'

/**
 * Per-caller limits a minute. The token limit is lowered from its default (300) for this test:
 * a loaded test machine may rotate fewer than 300 refresh tokens in 10 s, and then the machine,
 * not the limit, would bound the store.
 */
const TOKEN_RATE_LIMIT = 30
const LIMITS = {
  registrations: 30,
  devices: DEVICE_AUTHORIZATION_LIMITS.perCaller,
  guesses: USER_CODE_ENTRY_LIMITS.perCaller,
  refreshes: TOKEN_RATE_LIMIT,
}
/** A 10 s flood lies within at most two one-minute windows: twice the limit at most. */
const WINDOWS = 2
/** What the second caller adds: one of each write a second, for less than 10 s. */
const SECOND_CALLER = 10
const BOUNDS = {
  clients: WINDOWS * LIMITS.registrations + SECOND_CALLER,
  /** Two keys (device code, user code) per device authorization. */
  deviceKeys: 2 * (WINDOWS * LIMITS.devices + SECOND_CALLER),
  /** One rotated-token marker per refresh. */
  rotatedTokens: WINDOWS * LIMITS.refreshes + SECOND_CALLER,
  /** And one successor record per refresh, for the reuse grace (REFRESH_TOKEN_REUSE_GRACE). */
  successors: WINDOWS * LIMITS.refreshes + SECOND_CALLER,
  /** Counters: 4 buckets × (flooder, second caller, all callers) × windows, and setup's. */
  counters: 4 * 3 * WINDOWS + 10,
}
const KEY_BOUND =
  BOUNDS.clients + BOUNDS.deviceKeys + BOUNDS.rotatedTokens + BOUNDS.successors + BOUNDS.counters
/** Registrations of about 6 KB dominate; Redis adds its own overhead per key. */
const REDIS_MEMORY_BOUND = 3 * 1024 * 1024

/** A registration near the 4 KiB maximum, as a flooder would send to fill the store. */
const bulkyRegistration = JSON.stringify({
  client_name: 'flood',
  redirect_uris: [1, 2].map((i) => `https://flood.example/${i}/${'p'.repeat(1_900)}`),
  token_endpoint_auth_method: 'none',
})

/** What the flooders and the second caller hold before the flood starts. */
async function prepare(gateway: FloodGateway, setup: Caller) {
  const registered = async (body: Record<string, unknown>) =>
    (await (await setup.register(JSON.stringify(body))).json()) as {
      client_id: string
      client_secret: string
    }
  const deviceClient = {
    client_id: (
      await registered({
        redirect_uris: [],
        grant_types: [DEVICE_GRANT],
        token_endpoint_auth_method: 'none',
      })
    ).client_id,
  }
  const webClient = await registered({
    redirect_uris: ['https://app.example.com/cb'],
    token_endpoint_auth_method: 'client_secret_post',
  })
  const { deps } = gateway
  const subject = { id: 'dev-alice', login: 'alice' }
  await deps.upstream?.grants.save(subject.id, { accessToken: 'alice' }, 3600)
  const family = () =>
    startRefreshFamily(
      deps.store,
      systemClock,
      {
        familyId: randomUUID(),
        clientId: webClient.client_id,
        subject,
        scopes: ['mcp'],
        resources: deps.config.protectedResources.map((r) => r.resource),
      },
      { refreshTokenTtl: 3600, accessTokenTtl: 3600 }
    )
  return {
    deviceClient,
    webClient,
    floodTokens: await Promise.all(Array.from({ length: WORKERS }, family)),
    secondToken: await family(),
  }
}

/** Runs `step` in WORKERS loops until the deadline; counts the statuses it answers. */
async function flood(deadline: number, step: (worker: number) => Promise<number>) {
  const statuses = new Map<number, number>()
  await Promise.all(
    Array.from({ length: WORKERS }, async (_, worker) => {
      while (Date.now() < deadline) {
        const status = await step(worker)
        statuses.set(status, (statuses.get(status) ?? 0) + 1)
      }
    })
  )
  return statuses
}

async function floodGateway(gateway: FloodGateway, countKeys: (prefix: string) => Promise<number>) {
  const setup = callerAt(gateway, '127.0.0.9')
  const second = callerAt(gateway, '127.0.0.20')
  const flooders = ['127.0.0.10', '127.0.0.11', '127.0.0.12', '127.0.0.13'].map((address) =>
    callerAt(gateway, address)
  )
  const [registrar, deviceStarter, guesser, refresher] = flooders as [
    Caller,
    Caller,
    Caller,
    Caller,
  ]
  const held = await prepare(gateway, setup)
  const guesserForm: CodeForm = await openCodeForm(guesser.request)
  const secondForm: CodeForm = await openCodeForm(second.request)
  const floodTokens = [...held.floodTokens]
  const before = {
    clients: await countKeys('client:'),
    device: (await countKeys('device:')) + (await countKeys('user-code:')),
    rotated: await countKeys('refresh-rotated:'),
    counters: await countKeys('rate:'),
  }

  const deadline = Date.now() + FLOOD_MS
  const secondCallerServed = (async () => {
    const unexpected: string[] = []
    let token = held.secondToken
    const expectStatus = (what: string, response: Response, status: number) => {
      if (response.status !== status) unexpected.push(`${what}: ${response.status}`)
    }
    while (Date.now() < deadline - 1_000) {
      expectStatus('register', await second.register(bulkyRegistration), 201)
      expectStatus('device', await second.startDevice(held.deviceClient.client_id), 200)
      const code = await submitUserCode(second.request, secondForm, randomWrongUserCode())
      // 400 is a judged (wrong) code: the second caller was served, not refused.
      expectStatus('user code', code, 400)
      const refreshed = await second.refresh(held.webClient, token)
      expectStatus('token', refreshed.clone(), 200)
      if (refreshed.status === 200)
        token = ((await refreshed.json()) as { refresh_token: string }).refresh_token
      await sleep(1_000)
    }
    return unexpected
  })()
  const [registrations, devices, guesses, refreshes, unexpected] = await Promise.all([
    flood(deadline, async () => (await registrar.register(bulkyRegistration)).status),
    flood(
      deadline,
      async () => (await deviceStarter.startDevice(held.deviceClient.client_id)).status
    ),
    flood(
      deadline,
      async () => (await submitUserCode(guesser.request, guesserForm, randomWrongUserCode())).status
    ),
    flood(deadline, async (worker) => {
      const response = await refresher.refresh(held.webClient, floodTokens[worker] ?? '')
      if (response.status === 200) {
        floodTokens[worker] = ((await response.json()) as { refresh_token: string }).refresh_token
      }
      return response.status
    }),
    secondCallerServed,
  ])
  for (const caller of [setup, second, ...flooders]) caller.close()

  return {
    statuses: { registrations, devices, guesses, refreshes },
    unexpected,
    growth: {
      clients: (await countKeys('client:')) - before.clients,
      device: (await countKeys('device:')) + (await countKeys('user-code:')) - before.device,
      rotated: (await countKeys('refresh-rotated:')) - before.rotated,
      counters: (await countKeys('rate:')) - before.counters,
    },
  }
}

type FloodResult = Awaited<ReturnType<typeof floodGateway>>

function expectBounded(result: FloodResult) {
  const { statuses, growth } = result
  for (const [name, counts] of Object.entries(statuses)) {
    const limit = WINDOWS * LIMITS[name as keyof typeof LIMITS]
    const sent = [...counts.values()].reduce((sum, count) => sum + count, 0)
    const refused = counts.get(429) ?? 0
    // At most the limit were served; a flooder that sent more than that met it; never a 5xx.
    expect(sent - refused, name).toBeLessThanOrEqual(limit)
    if (sent > limit) expect(refused, name).toBeGreaterThan(0)
    expect(
      [...counts.keys()].filter((status) => status >= 500),
      name
    ).toEqual([])
  }
  expect(growth.clients).toBeLessThanOrEqual(BOUNDS.clients)
  expect(growth.device).toBeLessThanOrEqual(BOUNDS.deviceKeys)
  expect(growth.rotated).toBeLessThanOrEqual(BOUNDS.rotatedTokens)
  expect(growth.counters).toBeLessThanOrEqual(BOUNDS.counters)
  expect(result.unexpected).toEqual([])
}

describe('a 10 s flood of every anonymous write, one caller per endpoint', () => {
  let redisServer: RedisServer
  let admin: Redis
  beforeAll(async () => {
    // A Redis of its own: DBSIZE and INFO memory must see this test's keys only.
    redisServer = await startRedisServer()
    admin = new Redis(redisServer.url)
  })
  afterAll(async () => {
    await admin?.quit()
    await redisServer?.stop()
  })

  const countIn = (store: Store) => async (prefix: string) => {
    let count = 0
    for await (const _ of store.scan(prefix)) count++
    return count
  }
  const usedMemory = async () =>
    Number(/used_memory:(\d+)/.exec(await admin.info('memory'))?.[1] ?? Number.NaN)

  it.concurrent('keeps Redis bounded and serves a second caller', async () => {
    const store = createRedisStore(redisServer.url, 'flood:')
    const gateway = await startGateway(store, { TOKEN_RATE_LIMIT: String(TOKEN_RATE_LIMIT) })
    try {
      const keysBefore = await admin.dbsize()
      const memoryBefore = await usedMemory()
      const result = await floodGateway(gateway, countIn(store))
      const keysGrowth = (await admin.dbsize()) - keysBefore
      const memoryGrowth = (await usedMemory()) - memoryBefore
      expectBounded(result)
      expect(keysGrowth).toBeLessThanOrEqual(KEY_BOUND)
      expect(memoryGrowth).toBeLessThanOrEqual(REDIS_MEMORY_BOUND)
    } finally {
      await gateway.close()
    }
  })

  it.concurrent('keeps the memory store bounded and serves a second caller', async () => {
    const store: MemoryStore = createMemoryStore(systemClock)
    const gateway = await startGateway(store, { TOKEN_RATE_LIMIT: String(TOKEN_RATE_LIMIT) })
    try {
      const keysBefore = store.usage().keys
      const result = await floodGateway(gateway, countIn(store))
      expectBounded(result)
      expect(store.usage().keys - keysBefore).toBeLessThanOrEqual(KEY_BOUND)
    } finally {
      await gateway.close()
    }
  })
})
