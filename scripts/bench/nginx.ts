import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { identityHeaders } from '../../auth/src/verify/identity-headers.ts'
import { startNginx } from '../../tests/proxies/support/nginx.ts'
import type { RunningProxy } from '../../tests/proxies/support/proxy.ts'
import { freePort } from '../../tests/support/free-port.ts'
import { BENCH_SUBJECT, benchAccessToken, startBenchGateway } from './bench-gateway.ts'
import {
  close,
  listening,
  median,
  medianFigures,
  ms,
  requireWrk,
  type WrkFigures,
  wrk,
} from './wrk.ts'

/** Added by both proxies, as docs/verify.md has them forward to a bridge. */
const BENCH_BRIDGE_SECRET = 'bench-bridge-secret-0123456789abcdefghij'

export interface NginxBenchRow {
  readonly connections: number
  readonly noop: WrkFigures
  readonly gateway: WrkFigures
  /** Throughput behind nginx with our `/verify` as a share of the same with the no-op verifier. */
  readonly ratio: number
}

/**
 * nginx (`/usr/sbin/nginx`, the `auth_request` block documented in docs/verify.md, as the proxy
 * tests start it) in front of a trivial upstream, twice: once asking our `/verify` (the real app
 * on a real Redis), once asking a no-op verifier (bare `node:http` answering 200 with the same
 * identity headers). Same request, same wrk load, c=1 and c=32, alternating `rounds` times; each
 * figure is the median of the rounds. Upstream, verifier and app share this process.
 */
export async function benchNginx(
  seconds = 5,
  connectionCounts: readonly number[] = [1, 32],
  rounds = 3
): Promise<NginxBenchRow[]> {
  requireWrk()
  const [gatewayProxyPort, noopProxyPort] = [await freePort(), await freePort()]
  // As composed in production: request metrics, every store call timed, `/verify` in front.
  const gateway = await startBenchGateway({}, { issuer: `http://127.0.0.1:${gatewayProxyPort}` })
  const { issuer } = gateway
  const token = await benchAccessToken(gateway)
  const identity = {
    ...identityHeaders(undefined),
    'X-User-Id': BENCH_SUBJECT.id,
    'X-User-Name': BENCH_SUBJECT.login,
    'X-User-Email': BENCH_SUBJECT.email,
    'X-Client-Id': 'bench',
    'X-Auth-Scopes': 'mcp',
  }
  const noop = createServer((_request, response) => {
    response.writeHead(200, { ...identity, 'Content-Length': '0', 'Cache-Control': 'no-store' })
    response.end()
  }).listen(0, '127.0.0.1')
  const body = '{"jsonrpc":"2.0","id":1,"result":{}}'
  const upstream = createServer((_request, response) => {
    response.writeHead(200, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(body),
    })
    response.end(body)
  }).listen(0, '127.0.0.1')
  await Promise.all([listening(noop), listening(upstream)])
  const portOf = (server: Server) => (server.address() as AddressInfo).port
  const proxies: RunningProxy[] = []
  const rows: NginxBenchRow[] = []
  try {
    proxies.push(
      await startNginx({
        proxyPort: gatewayProxyPort,
        authPort: gateway.port,
        upstreamPort: portOf(upstream),
        bridgeSecret: BENCH_BRIDGE_SECRET,
      }),
      await startNginx({
        proxyPort: noopProxyPort,
        authPort: portOf(noop),
        upstreamPort: portOf(upstream),
        bridgeSecret: BENCH_BRIDGE_SECRET,
      })
    )
    const headers = { Authorization: `Bearer ${token}` }
    const gatewayUrl = `${issuer}/echo/mcp`
    const noopUrl = `http://127.0.0.1:${noopProxyPort}/echo/mcp`
    const check = await fetch(gatewayUrl, { headers })
    if (check.status !== 200) throw new Error(`nginx → /verify answered ${check.status}`)
    await wrk({ url: noopUrl, headers, connections: 32, seconds: 1 })
    await wrk({ url: gatewayUrl, headers, connections: 32, seconds: 1 })
    for (const connections of connectionCounts) {
      const noopRuns: WrkFigures[] = []
      const gatewayRuns: WrkFigures[] = []
      const ratios: number[] = []
      for (let round = 0; round < rounds; round++) {
        noopRuns.push(await wrk({ url: noopUrl, headers, connections, seconds }))
        gatewayRuns.push(await wrk({ url: gatewayUrl, headers, connections, seconds }))
        ratios.push(
          (gatewayRuns.at(-1) as WrkFigures).requestsPerSecond /
            (noopRuns.at(-1) as WrkFigures).requestsPerSecond
        )
      }
      rows.push({
        connections,
        noop: medianFigures(noopRuns),
        gateway: medianFigures(gatewayRuns),
        ratio: median(ratios),
      })
    }
  } finally {
    for (const proxy of proxies) await proxy.stop()
    await Promise.all([gateway.close(), close(noop), close(upstream)])
  }
  const lines = [
    `Behind nginx auth_request (docs/verify.md block): our /verify vs a no-op verifier, wrk ${seconds} s per run, median of ${rounds} alternating rounds`,
    '| connections | no-op req/s | no-op p50 | no-op p99 | /verify req/s | /verify p50 | /verify p99 | ratio |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.connections} | ${r.noop.requestsPerSecond.toFixed(0)} | ${ms(r.noop.p50)} | ${ms(r.noop.p99)} | ${r.gateway.requestsPerSecond.toFixed(0)} | ${ms(r.gateway.p50)} | ${ms(r.gateway.p99)} | ${r.ratio.toFixed(3)}× |`
    ),
  ]
  const failures = rows.reduce((sum, r) => sum + r.gateway.non2xx + r.noop.non2xx, 0)
  if (failures > 0) lines.push(`WARNING: ${failures} answers were not 2xx`)
  process.stdout.write(`${lines.join('\n')}\n`)
  return rows
}

if (import.meta.main) await benchNginx()
