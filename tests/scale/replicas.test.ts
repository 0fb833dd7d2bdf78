import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { auth } from '@modelcontextprotocol/sdk/client/auth.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunningProxy } from '../proxies/support/proxy.ts'
import { admin } from '../support/admin-cli.ts'
import { type FakeGitHub, startFakeGitHub } from '../support/fake-github.ts'
import { freePort } from '../support/free-port.ts'
import { type GatewayProcess, startGatewayProcess } from '../support/gateway-process.ts'
import { OCTOCAT } from '../support/gateway-with-github.ts'
import { type RedisServer, startRedisServer } from '../support/redis-server.ts'
import { HeadlessOAuthProvider } from '../support/sdk-oauth-provider.ts'
import { startReplicaNginx } from './support/replica-set.ts'

/**
 * Three auth processes on one Redis behind nginx (round-robin), under load on `/verify` and
 * `/token` (refresh); one replica is killed with SIGKILL mid-load, then another is stopped with
 * SIGTERM. Nothing is lost (clients, refresh families, keys), and no client sees an error: nginx
 * passes on what a dying or stopping replica reset (docs/operations.md).
 */
const LOAD_MS = 6_000
const KILL_AT_MS = 2_000
const VERIFY_WORKERS = 8
const FAMILIES = 3
/** Past SHUTDOWN_DELAY (5 s) after the SIGTERM, so the load meets the listener's close. */
const STOP_LOAD_MS = 9_000

interface Family {
  readonly clientId: string
  readonly clientSecret: string
  refreshToken: string
}

interface Failure {
  readonly at: number
  readonly endpoint: 'verify' | 'token'
  readonly what: string
}

describe('three auth replicas behind nginx', () => {
  let redis: RedisServer
  let github: FakeGitHub
  let proxy: RunningProxy
  let replicas: GatewayProcess[] = []
  let issuer: string
  let env: Record<string, string>
  const families: Family[] = []
  const registrations: Array<{ uri: string; token: string; clientId: string }> = []

  beforeAll(async () => {
    redis = await startRedisServer()
    const proxyPort = await freePort()
    issuer = `http://localhost:${proxyPort}`
    github = await startFakeGitHub({ callbackUrl: `${issuer}/callback`, users: [OCTOCAT] })
    env = {
      ...github.env,
      GATEWAY_MODE: 'auth',
      AUTH_ISSUER: issuer,
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: `test:${randomUUID()}:`,
      ALLOWED_GITHUB_USERS: 'octocat',
      TOKEN_RATE_LIMIT: '1000000',
      LOG_LEVEL: 'warn',
    }
    // Started at once on an empty store: they race to make the signing key.
    // (Three Node start-ups at once take a while on a busy 2-core machine.)
    replicas = await Promise.all(
      [1, 2, 3].map(() => startGatewayProcess(env, { startTimeoutMs: 90_000 }))
    )
    proxy = await startReplicaNginx(
      proxyPort,
      replicas.map((replica) => replica.port)
    )
  }, 120_000)
  afterAll(async () => {
    await Promise.all(replicas.map((replica) => replica.stop()))
    await proxy?.stop()
    await github?.close()
    await redis?.stop()
  })

  const direct = (replica: GatewayProcess) => `http://127.0.0.1:${replica.port}`
  const jwksOf = async (replica: GatewayProcess) =>
    (await (await fetch(`${direct(replica)}/jwks`)).json()) as { keys: Array<{ kid: string }> }
  const verify = (base: string, accessToken: string) =>
    fetch(`${base}/verify`, {
      headers: {
        Authorization: `Bearer ${accessToken}`,
        'X-Forwarded-Proto': 'http',
        'X-Forwarded-Host': new URL(issuer).host,
        'X-Forwarded-Uri': '/echo/mcp',
        'X-Forwarded-Method': 'POST',
      },
    })
  const refresh = (base: string, family: Family) =>
    fetch(`${base}/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: family.refreshToken,
        client_id: family.clientId,
        client_secret: family.clientSecret,
      }),
    })

  it('generate the signing key once and serve one key set from every replica', async () => {
    const sets = await Promise.all(replicas.map(jwksOf))
    expect(sets[0]?.keys).toHaveLength(1)
    expect(sets[1]).toEqual(sets[0])
    expect(sets[2]).toEqual(sets[0])
  })

  it('sign people in through the proxy, and verify on every replica what any replica minted', async () => {
    for (let index = 0; index < FAMILIES; index++) {
      const provider = new HeadlessOAuthProvider({
        redirectUrl: `http://127.0.0.1:${43200 + index}/callback`,
      })
      const resource = new URL(`${issuer}/echo/mcp`)
      expect(await auth(provider, { serverUrl: resource })).toBe('REDIRECT')
      expect(
        await auth(provider, { serverUrl: resource, authorizationCode: provider.code() })
      ).toBe('AUTHORIZED')
      const client = provider.client as { client_id: string; client_secret: string }
      families.push({
        clientId: client.client_id,
        clientSecret: client.client_secret,
        refreshToken: provider.savedTokens?.refresh_token as string,
      })
    }
    for (let index = 0; index < 10; index++) {
      const response = await fetch(`${issuer}/register`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({
          client_name: `replica client ${index}`,
          redirect_uris: ['https://claude.ai/api/mcp/auth_callback'],
        }),
      })
      expect(response.status).toBe(201)
      const body = (await response.json()) as Record<string, string>
      registrations.push({
        uri: body.registration_client_uri as string,
        token: body.registration_access_token as string,
        clientId: body.client_id as string,
      })
    }
    // Each replica mints (a refresh sent to it directly); the other two accept the token.
    const family = families[0] as Family
    for (const minter of replicas) {
      const response = await refresh(direct(minter), family)
      expect(response.status).toBe(200)
      const tokens = (await response.json()) as { access_token: string; refresh_token: string }
      family.refreshToken = tokens.refresh_token
      for (const other of replicas.filter((replica) => replica !== minter)) {
        expect((await verify(direct(other), tokens.access_token)).status).toBe(200)
      }
    }
  })

  /**
   * `verifyWorkers` loops on `/verify` and one loop a family on `/token` (refresh) through the
   * proxy for `loadMs`, while `stop` runs `stopAtMs` in; what failed (5xx or no answer), what was
   * refused that should not have been, and what was served after the stop.
   */
  const underLoad = async (options: {
    loadMs: number
    stopAtMs: number
    verifyWorkers: number
    stop: () => void
  }) => {
    const accessTokens: string[] = []
    for (const family of families) {
      const response = await refresh(issuer, family)
      expect(response.status).toBe(200)
      const tokens = (await response.json()) as { access_token: string; refresh_token: string }
      family.refreshToken = tokens.refresh_token
      accessTokens.push(tokens.access_token)
    }
    const failures: Failure[] = []
    const lost: string[] = []
    const served = { verify: 0, token: 0, verifyAfterStop: 0, tokenAfterStop: 0 }
    const end = Date.now() + options.loadMs
    let stoppedAt = Number.POSITIVE_INFINITY

    const outcome = async (
      endpoint: 'verify' | 'token',
      request: () => Promise<Response>
    ): Promise<Response | undefined> => {
      try {
        const response = await request()
        if (response.status >= 500) {
          failures.push({ at: Date.now(), endpoint, what: `${response.status}` })
          await response.body?.cancel()
          return undefined
        }
        return response
      } catch (error) {
        failures.push({ at: Date.now(), endpoint, what: String(error) })
        return undefined
      }
    }
    const verifyWorker = async () => {
      while (Date.now() < end) {
        const token = accessTokens[Math.floor(Math.random() * accessTokens.length)] as string
        const response = await outcome('verify', () => verify(issuer, token))
        if (!response) continue
        await response.body?.cancel()
        if (response.status !== 200) lost.push(`verify answered ${response.status}`)
        served.verify += 1
        if (Date.now() > stoppedAt) served.verifyAfterStop += 1
      }
    }
    // One worker a family: a refresh whose answer was lost is sent again with the same token,
    // as a client does; the reuse grace gives it the same successor.
    const refreshWorker = async (family: Family) => {
      while (Date.now() < end) {
        const response = await outcome('token', () => refresh(issuer, family))
        if (!response) continue
        const body = (await response.json()) as Record<string, string>
        if (response.status !== 200) {
          lost.push(`refresh answered ${response.status} ${JSON.stringify(body)}`)
          return
        }
        family.refreshToken = body.refresh_token as string
        accessTokens.push(body.access_token as string)
        served.token += 1
        if (Date.now() > stoppedAt) served.tokenAfterStop += 1
      }
    }
    const stopper = async () => {
      await sleep(options.stopAtMs)
      stoppedAt = Date.now()
      options.stop()
    }
    await Promise.all([
      stopper(),
      ...Array.from({ length: options.verifyWorkers }, verifyWorker),
      ...families.map(refreshWorker),
    ])
    return { failures, lost, served, stoppedAt }
  }

  /** Every registered client is still there, every family still refreshes, one key set. */
  const nothingLost = async (survivors: readonly GatewayProcess[], jwksBefore: unknown) => {
    for (const registration of registrations) {
      const response = await fetch(registration.uri, {
        headers: { Authorization: `Bearer ${registration.token}` },
      })
      expect(response.status).toBe(200)
      expect(await response.json()).toMatchObject({ client_id: registration.clientId })
    }
    for (const family of families) expect((await refresh(issuer, family)).status).toBe(200)
    for (const survivor of survivors) expect(await jwksOf(survivor)).toEqual(jwksBefore)
  }

  it('lose nothing when one replica is killed mid-load, and no client sees an error', async () => {
    const jwksBefore = await jwksOf(replicas[0] as GatewayProcess)
    const victim = replicas[1] as GatewayProcess
    const { failures, lost, served } = await underLoad({
      loadMs: LOAD_MS,
      stopAtMs: KILL_AT_MS,
      verifyWorkers: VERIFY_WORKERS,
      stop: () => victim.child.kill('SIGKILL'),
    })

    expect(lost).toEqual([])
    expect(victim.child.signalCode).toBe('SIGKILL')
    // Load went on after the kill, on both endpoints.
    expect(served.verifyAfterStop).toBeGreaterThan(10)
    expect(served.tokenAfterStop).toBeGreaterThan(0)
    // Even the dead replica's requests in flight: their connections were reset before an answer
    // came, and nginx passes each on to another replica (a refresh the dead one had already
    // rotated gets the same successor there, within the reuse grace).
    expect(failures).toEqual([])
    await nothingLost(
      replicas.filter((replica) => replica !== victim),
      jwksBefore
    )
    console.info(`replicas: ${served.verify} /verify and ${served.token} /token in ${LOAD_MS} ms`)
  })

  // nginx cannot check /ready: the replica closes its listener and idle connections after
  // SHUTDOWN_DELAY while nginx may be writing a POST on one of them. The reset comes before the
  // gateway read the request, and nginx passes it on (`non_idempotent`): no client sees it.
  it('a replica stopped with SIGTERM mid-load: no client sees an error, and it exits 0', async () => {
    const jwksBefore = await jwksOf(replicas[0] as GatewayProcess)
    const stopping = replicas[2] as GatewayProcess
    const exited = new Promise<number | null>((resolve) => stopping.child.once('exit', resolve))
    const { failures, lost, served } = await underLoad({
      loadMs: STOP_LOAD_MS,
      stopAtMs: KILL_AT_MS,
      verifyWorkers: 2,
      stop: () => stopping.child.kill('SIGTERM'),
    })

    expect(lost).toEqual([])
    expect(failures).toEqual([])
    expect(await exited).toBe(0)
    expect(served.tokenAfterStop).toBeGreaterThan(0)
    await nothingLost([replicas[0] as GatewayProcess], jwksBefore)
    // Stopped, it no longer counts among the running replicas (the killed one does, until its
    // announcement expires, 90 s after its last).
    const running = replicasLine(await admin(['health'], env))
    expect(running).toMatch(
      /^ok +replicas +store: [12] running \(and 1 stopped within a minute\), same settings$/
    )
    console.info(
      `replicas: ${served.verify} /verify and ${served.token} /token in ${STOP_LOAD_MS} ms across a SIGTERM`
    )
  })

  it('warn a replica started with another allow-list, and fail the health check until it stops', async () => {
    const apart = await startGatewayProcess(
      { ...env, ALLOWED_GITHUB_USERS: 'octocat,hubot' },
      { startTimeoutMs: 60_000 }
    )
    try {
      await expect
        .poll(() => apart.output(), { timeout: 10_000 })
        .toMatch(/"event":"replicas_disagree","settings":\["ALLOWED_GITHUB_USERS"\]/)
      expect(apart.output()).not.toContain('hubot')
      const health = await admin(['health'], env)
      expect(health.code).toBe(1)
      expect(replicasLine(health)).toMatch(
        /^FAIL +replicas +store: [23] running \(and 1 stopped within a minute\), settings differ: ALLOWED_GITHUB_USERS \([^|]+ \| [^|,]+\)$/
      )
    } finally {
      await apart.stop()
    }
    // Stopped, its settings count a minute more (it might be restarting mid-rollout).
    expect(replicasLine(await admin(['health'], env))).toMatch(
      /stopped within a minute\), settings differ: ALLOWED_GITHUB_USERS/
    )
  })
})

/** The line `admin health` gives the replicas running on the store. */
function replicasLine(health: { stdout: string }): string {
  return health.stdout.split('\n').find((line) => /^\S+ +replicas /.test(line)) ?? health.stdout
}
