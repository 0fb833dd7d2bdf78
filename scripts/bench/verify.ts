import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { createApp } from '../../auth/src/app.ts'
import { createAuditTrail } from '../../auth/src/audit/audit-trail.ts'
import { systemClock } from '../../auth/src/clock.ts'
import { loadConfig } from '../../auth/src/config.ts'
import { loadSigningKeys } from '../../auth/src/keys/signing-keys.ts'
import { createLogger } from '../../auth/src/logger.ts'
import { createAuthMetrics } from '../../auth/src/metrics/auth-metrics.ts'
import { issueAccessToken } from '../../auth/src/oauth/access-token.ts'
import { meteredStore } from '../../auth/src/store/metered-store.ts'
import { createRedisStore } from '../../auth/src/store/redis-store.ts'
import { freePort } from '../../tests/support/free-port.ts'
import { startRedisServer } from '../../tests/support/redis-server.ts'

const WRK = '/usr/bin/wrk'

/** One wrk run: throughput and latency percentiles (milliseconds). */
export interface LoadFigures {
  readonly requestsPerSecond: number
  readonly p50: number
  readonly p99: number
  readonly non2xx: number
}

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
  if (!existsSync(WRK)) {
    throw new Error(`${WRK} is missing: install it with scripts/ensure-system-packages.sh`)
  }
  const redis = await startRedisServer()
  const store = createRedisStore(redis.url, 'bench:')
  const gatewayPort = await freePort()
  const issuer = `http://127.0.0.1:${gatewayPort}`
  const config = loadConfig({ AUTH_ISSUER: issuer, GATEWAY_MODE: 'auth', LOG_LEVEL: 'warn' })
  const signingKeys = await loadSigningKeys(store)
  const logger = createLogger(config.logLevel)
  const audit = createAuditTrail({ logger, clock: systemClock, store, streamMaxLength: 0 })
  // As composed in production: request metrics on the app, every store call timed.
  const metrics = createAuthMetrics()
  const app = createApp({
    config,
    store: meteredStore(store, metrics),
    clock: systemClock,
    signingKeys,
    logger,
    audit,
    metrics,
  })
  const gateway = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: gatewayPort }) as Server
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
    await wrk(bareUrl, verifyHeaders, 32, 1)
    await wrk(`${issuer}/verify`, verifyHeaders, 32, 1)
    for (const connections of connectionCounts) {
      const samples: VerifyBenchRow[] = []
      for (let round = 0; round < rounds; round++) {
        const bareFigures = await wrk(bareUrl, verifyHeaders, connections, seconds)
        const verifyFigures = await wrk(`${issuer}/verify`, verifyHeaders, connections, seconds)
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
  const median = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b)
    return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN
  }
  const figures = (pick: (row: VerifyBenchRow) => LoadFigures): LoadFigures => ({
    requestsPerSecond: median(samples.map((row) => pick(row).requestsPerSecond)),
    p50: median(samples.map((row) => pick(row).p50)),
    p99: median(samples.map((row) => pick(row).p99)),
    non2xx: samples.reduce((sum, row) => sum + pick(row).non2xx, 0),
  })
  return {
    connections,
    bare: figures((row) => row.bare),
    verify: figures((row) => row.verify),
    ratio: median(samples.map((row) => row.ratio)),
  }
}

async function wrk(
  url: string,
  headers: Record<string, string>,
  connections: number,
  seconds: number
): Promise<LoadFigures> {
  const threads = Math.min(connections, 2)
  const args = [`-t${threads}`, `-c${connections}`, `-d${seconds}s`, '--latency']
  for (const [name, value] of Object.entries(headers)) args.push('-H', `${name}: ${value}`)
  args.push(url)
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn(WRK, args, { stdio: ['ignore', 'pipe', 'inherit'] })
    let text = ''
    child.stdout.on('data', (chunk: Buffer) => {
      text += chunk.toString()
    })
    child.once('error', reject)
    child.once('exit', (code) =>
      code === 0 ? resolve(text) : reject(new Error(`wrk exited with ${code}`))
    )
  })
  const number = (pattern: RegExp) => Number(pattern.exec(output)?.[1] ?? Number.NaN)
  return {
    requestsPerSecond: number(/Requests\/sec:\s+([\d.]+)/),
    p50: milliseconds(/^\s+50%\s+([\d.]+\w+)/m.exec(output)?.[1]),
    p99: milliseconds(/^\s+99%\s+([\d.]+\w+)/m.exec(output)?.[1]),
    non2xx: number(/Non-2xx or 3xx responses:\s+(\d+)/) || 0,
  }
}

/** wrk prints latencies as `812.00us`, `1.23ms` or `1.01s`. */
function milliseconds(value: string | undefined): number {
  const match = /^([\d.]+)(us|ms|s)$/.exec(value ?? '')
  if (!match) return Number.NaN
  const scale = { us: 0.001, ms: 1, s: 1000 }[match[2] as 'us' | 'ms' | 's']
  return Number(match[1]) * scale
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

function listening(server: Server): Promise<void> {
  return server.listening
    ? Promise.resolve()
    : new Promise((resolve) => server.once('listening', () => resolve()))
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()))
}
