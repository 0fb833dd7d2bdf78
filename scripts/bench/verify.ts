import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { systemClock } from '../../auth/src/clock.ts'
import { composeAuthServer } from '../../auth/src/compose-auth-server.ts'
import { loadConfig } from '../../auth/src/config.ts'
import { createLogger } from '../../auth/src/logger.ts'
import { issueAccessToken } from '../../auth/src/oauth/access-token.ts'
import { createRedisStore } from '../../auth/src/store/redis-store.ts'
import { freePort } from '../../tests/support/free-port.ts'
import { startRedisServer } from '../../tests/support/redis-server.ts'
import { servePublic } from './public-server.ts'
import { close, listening, median, medianFigures, requireWrk, type WrkFigures, wrk } from './wrk.ts'

/** One wrk run: throughput and latency percentiles (milliseconds). */
export type LoadFigures = WrkFigures

export interface VerifyBenchRow {
  readonly connections: number
  readonly bare: LoadFigures
  readonly verify: LoadFigures
  /** `/verify` throughput as a share of the bare server's. */
  readonly ratio: number
}

/**
 * `/verify` with a valid token (the real app on a real Redis, as the proxies call it) against a
 * bare `node:http` server answering 200 with an empty body: same process, same run, same load
 * generator (wrk), at 1 and 32 connections. The two alternate, `rounds` times, and each figure is
 * the median over the rounds, so a burst of load from something else on the machine skews one
 * round, not the result. Prints the table and returns it.
 */
export async function benchVerify(
  seconds = 5,
  connectionCounts: readonly number[] = [1, 32],
  rounds = 3
): Promise<VerifyBenchRow[]> {
  requireWrk()
  const redis = await startRedisServer()
  const store = createRedisStore(redis.url, 'bench:')
  const gatewayPort = await freePort()
  const issuer = `http://127.0.0.1:${gatewayPort}`
  const config = loadConfig({ AUTH_ISSUER: issuer, GATEWAY_MODE: 'auth', LOG_LEVEL: 'warn' })
  // As composed in production: request metrics, every store call timed, `/verify` in front.
  const { deps, app, forwardAuth } = await composeAuthServer({
    config,
    store,
    clock: systemClock,
    logger: createLogger(config.logLevel),
  })
  const { signingKeys } = deps
  const gateway = servePublic(app, forwardAuth, gatewayPort)
  const bare = createServer((_request, response) => {
    response.writeHead(200, { 'Content-Length': '0' })
    response.end()
  }).listen(0, '127.0.0.1')
  await Promise.all([listening(gateway), listening(bare)])

  const resource = `${issuer}/echo/mcp`
  const { token } = await issueAccessToken(
    {
      issuer,
      subject: { id: '1001', login: 'octocat', email: 'octocat@example.com' },
      clientId: 'bench',
      audience: [resource],
      scope: 'mcp',
      ttlSeconds: 3600,
    },
    signingKeys,
    systemClock
  )
  // What Traefik sends to the auth server for a request to the echo service.
  const verifyHeaders = {
    Authorization: `Bearer ${token}`,
    'X-Forwarded-Proto': 'http',
    'X-Forwarded-Host': `127.0.0.1:${gatewayPort}`,
    'X-Forwarded-Uri': '/echo/mcp',
    'X-Forwarded-Method': 'POST',
  }
  const check = await fetch(`${issuer}/verify`, { headers: verifyHeaders })
  if (check.status !== 200) throw new Error(`/verify answered ${check.status} to the bench token`)

  const rows: VerifyBenchRow[] = []
  try {
    const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}/`
    // Both servers get the very same request (headers and all), so wrk does the same work for each.
    await wrk({ url: bareUrl, headers: verifyHeaders, connections: 32, seconds: 1 })
    await wrk({ url: `${issuer}/verify`, headers: verifyHeaders, connections: 32, seconds: 1 })
    for (const connections of connectionCounts) {
      const samples: VerifyBenchRow[] = []
      for (let round = 0; round < rounds; round++) {
        const bareFigures = await wrk({
          url: bareUrl,
          headers: verifyHeaders,
          connections,
          seconds,
        })
        const verifyFigures = await wrk({
          url: `${issuer}/verify`,
          headers: verifyHeaders,
          connections,
          seconds,
        })
        samples.push({
          connections,
          bare: bareFigures,
          verify: verifyFigures,
          ratio: verifyFigures.requestsPerSecond / bareFigures.requestsPerSecond,
        })
      }
      rows.push(medianRow(connections, samples))
    }
  } finally {
    gateway.closeAllConnections()
    bare.closeAllConnections()
    await Promise.all([close(gateway), close(bare)])
    await store.close()
    await redis.stop()
  }
  print(rows, seconds, rounds)
  return rows
}

function medianRow(connections: number, samples: readonly VerifyBenchRow[]): VerifyBenchRow {
  return {
    connections,
    bare: medianFigures(samples.map((row) => row.bare)),
    verify: medianFigures(samples.map((row) => row.verify)),
    ratio: median(samples.map((row) => row.ratio)),
  }
}

function print(rows: readonly VerifyBenchRow[], seconds: number, rounds: number): void {
  const lines = [
    `/verify (valid token) vs bare node:http 200, same request to both, wrk ${seconds} s per run, median of ${rounds} alternating rounds (ratio: median of the per-round ratios)`,
    '| connections | bare req/s | bare p50 | bare p99 | /verify req/s | /verify p50 | /verify p99 | ratio |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.connections} | ${r.bare.requestsPerSecond.toFixed(0)} | ${r.bare.p50.toFixed(2)} ms | ${r.bare.p99.toFixed(2)} ms | ${r.verify.requestsPerSecond.toFixed(0)} | ${r.verify.p50.toFixed(2)} ms | ${r.verify.p99.toFixed(2)} ms | ${(r.ratio * 100).toFixed(0)}% |`
    ),
  ]
  const failures = rows.reduce((sum, r) => sum + r.verify.non2xx, 0)
  if (failures > 0) lines.push(`WARNING: ${failures} /verify answers were not 200`)
  process.stdout.write(`${lines.join('\n')}\n`)
}
