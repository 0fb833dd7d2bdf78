import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { benchAccessToken, startBenchGateway } from './bench-gateway.ts'
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
  // As composed in production: request metrics, every store call timed, `/verify` in front.
  const gateway = await startBenchGateway()
  const { issuer } = gateway
  const bare = createServer((_request, response) => {
    response.writeHead(200, { 'Content-Length': '0' })
    response.end()
  }).listen(0, '127.0.0.1')
  await listening(bare)
  const token = await benchAccessToken(gateway)
  // What Traefik sends to the auth server for a request to the echo service.
  const verifyHeaders = {
    Authorization: `Bearer ${token}`,
    'X-Forwarded-Proto': 'http',
    'X-Forwarded-Host': new URL(issuer).host,
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
    await Promise.all([gateway.close(), close(bare)])
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
