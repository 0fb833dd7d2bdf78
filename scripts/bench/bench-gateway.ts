import type { Server } from 'node:http'
import type { Hono } from 'hono'
import { Redis } from 'ioredis'
import { systemClock } from '../../auth/src/clock.ts'
import { composeAuthServer } from '../../auth/src/compose-auth-server.ts'
import { type Config, loadConfig } from '../../auth/src/config.ts'
import type { AuthDeps } from '../../auth/src/deps.ts'
import { createLogger } from '../../auth/src/logger.ts'
import { issueAccessToken } from '../../auth/src/oauth/access-token.ts'
import { createRedisStore } from '../../auth/src/store/redis-store.ts'
import { type FakeGitHub, startFakeGitHub } from '../../tests/support/fake-github.ts'
import { freePort } from '../../tests/support/free-port.ts'
import { startRedisServer } from '../../tests/support/redis-server.ts'
import { servePublic } from './public-server.ts'
import { close, listening } from './wrk.ts'

/** The store's key prefix in the benches. */
export const BENCH_PREFIX = 'bench:'

export interface BenchGateway {
  readonly issuer: string
  /** The gateway's own port (the issuer's, unless the gateway sits behind a proxy). */
  readonly port: number
  readonly config: Config
  readonly deps: AuthDeps
  readonly app: Hono
  /** A connection of its own to the bench Redis, for writing fixtures and reading `INFO`. */
  readonly control: Redis
  /** The bench Redis's address. */
  readonly redisUrl: string
  readonly github: FakeGitHub
  close(): Promise<void>
}

/**
 * One gateway process's worth, as production runs it: a real Redis syncing its append-only file
 * every second (the test Redis syncs every write), users checked at a fake GitHub in this process,
 * `composeAuthServer`, and the public listener on a loopback port. Any user may sign in and the
 * token rate limit is out of the way; `env` adds to that. Audit lines are made as in production,
 * then dropped rather than written to the terminal. `issuer` (a proxy's address) defaults to the
 * gateway's own.
 */
export async function startBenchGateway(
  env: Readonly<Record<string, string>> = {},
  options: { readonly issuer?: string } = {}
): Promise<BenchGateway> {
  const redis = await startRedisServer()
  const control = new Redis(redis.url)
  await control.config('SET', 'appendfsync', 'everysec')
  const store = createRedisStore(redis.url, BENCH_PREFIX)
  const github = await startFakeGitHub({})
  const port = await freePort()
  const issuer = options.issuer ?? `http://127.0.0.1:${port}`
  const config = loadConfig({
    ...github.env,
    AUTH_ISSUER: issuer,
    GATEWAY_MODE: 'auth',
    LOG_LEVEL: 'warn',
    ALLOWED_GITHUB_USERS: '*',
    TOKEN_RATE_LIMIT: '100000000',
    ...env,
  })
  const logger = createLogger(config.logLevel, { write: () => {} })
  const { deps, app, forwardAuth } = await composeAuthServer({
    config,
    store,
    clock: systemClock,
    logger,
  })
  const server: Server = servePublic(app, forwardAuth, port)
  await listening(server)
  return {
    issuer,
    port,
    config,
    deps,
    app,
    control,
    redisUrl: redis.url,
    github,
    async close() {
      await close(server)
      await store.close()
      control.disconnect()
      await github.close()
      await redis.stop()
    },
  }
}

/** The user of the benches' access tokens. */
export const BENCH_SUBJECT = { id: '1001', login: 'octocat', email: 'octocat@example.com' }

/** An access token of `BENCH_SUBJECT` for the issuer's echo service, signed by the gateway's key. */
export async function benchAccessToken(gateway: BenchGateway): Promise<string> {
  const { token } = await issueAccessToken(
    {
      issuer: gateway.issuer,
      subject: BENCH_SUBJECT,
      clientId: 'bench',
      audience: [`${gateway.issuer}/echo/mcp`],
      scope: 'mcp',
      ttlSeconds: 3600,
    },
    gateway.deps.signingKeys,
    systemClock
  )
  return token
}
