import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { systemClock } from '../../auth/src/clock.ts'
import { composeAuthServer } from '../../auth/src/compose-auth-server.ts'
import { loadConfig } from '../../auth/src/config.ts'
import { createLogger } from '../../auth/src/logger.ts'
import { issueAccessToken } from '../../auth/src/oauth/access-token.ts'
import { createRedisStore } from '../../auth/src/store/redis-store.ts'
import {
  type RunningProcess,
  requireBinary,
  startProcess,
} from '../../tests/proxies/support/processes.ts'
import { startFakeGitHub } from '../../tests/support/fake-github.ts'
import { freePort } from '../../tests/support/free-port.ts'
import { type GatewayProcess, startGatewayProcess } from '../../tests/support/gateway-process.ts'
import { startRedisServer } from '../../tests/support/redis-server.ts'
import { makeRefreshPool, writePoolScript } from './refresh-pool.ts'
import { median, wrk } from './wrk.ts'

export interface ReplicasBenchRow {
  readonly endpoint: '/verify' | '/token (refresh)'
  readonly one: number
  readonly three: number
  /** Three replicas' throughput over one's (median of the per-round ratios); 3 would be linear. */
  readonly ratio: number
  readonly non2xx: number
}

const POOL_USERS = 128

/**
 * Throughput of one authorization server process against three, all on one Redis, each set behind
 * nginx round robin (the same config, one `server` line or three), same wrk load (2 threads,
 * c=32): `/verify` with a valid token, and refreshes rotating a pool of 128 families. The
 * replicas are the real `auth/src/main.ts` processes; the data is made in this process through the
 * app on the same Redis and secrets. Alternates `rounds` times; medians.
 */
export async function benchReplicas(seconds = 5, rounds = 3): Promise<ReplicasBenchRow[]> {
  const nginxBinary = requireBinary('/usr/sbin/nginx', 'nginx-light')
  const redis = await startRedisServer()
  const control = new Redis(redis.url)
  await control.config('SET', 'appendfsync', 'everysec')
  control.disconnect()
  const github = await startFakeGitHub({})
  const [onePort, threePort] = [await freePort(), await freePort()]
  // One issuer for both sets (tokens minted behind either verify behind both).
  const issuer = `http://127.0.0.1:${threePort}`
  const env = {
    ...github.env,
    AUTH_ISSUER: issuer,
    GATEWAY_MODE: 'auth',
    LOG_LEVEL: 'warn',
    REDIS_URL: redis.url,
    ALLOWED_GITHUB_USERS: '*',
    TOKEN_RATE_LIMIT: '100000000',
  }
  const config = loadConfig(env)
  const store = createRedisStore(redis.url, config.redis?.keyPrefix ?? 'gateway:')
  const logger = createLogger(config.logLevel, { write: () => {} })
  const { deps, app } = await composeAuthServer({ config, store, clock: systemClock, logger })
  const dir = await mkdtemp(join(tmpdir(), 'replicas-bench-'))
  const replicas: GatewayProcess[] = []
  const proxies: RunningProcess[] = []
  const rows: ReplicasBenchRow[] = []
  try {
    for (let i = 0; i < 3; i++) replicas.push(await startGatewayProcess(env))
    const ports = replicas.map((replica) => replica.port)
    for (const [proxyPort, servers] of [
      [onePort, ports.slice(0, 1)],
      [threePort, ports],
    ] as const) {
      const conf = join(dir, `nginx-${proxyPort}.conf`)
      await mkdir(join(dir, `temp-${proxyPort}`))
      await writeFile(conf, nginxConfig(dir, proxyPort, servers))
      proxies.push(
        await startProcess(
          nginxBinary,
          ['-p', dir, '-c', conf, '-e', `${dir}/error.log`],
          proxyPort
        )
      )
    }
    const { token } = await issueAccessToken(
      {
        issuer,
        subject: { id: '1001', login: 'octocat' },
        clientId: 'bench',
        audience: [`${issuer}/echo/mcp`],
        scope: 'mcp',
        ttlSeconds: 3600,
      },
      deps.signingKeys,
      systemClock
    )
    const verifyHeaders = {
      Authorization: `Bearer ${token}`,
      'X-Forwarded-Proto': 'http',
      'X-Forwarded-Host': `127.0.0.1:${threePort}`,
      'X-Forwarded-Uri': '/echo/mcp',
      'X-Forwarded-Method': 'POST',
    }
    const urlOf = (port: number) => `http://127.0.0.1:${port}`
    for (const port of [onePort, threePort]) {
      const check = await fetch(`${urlOf(port)}/verify`, { headers: verifyHeaders })
      if (check.status !== 200) throw new Error(`/verify via ${port} answered ${check.status}`)
    }
    let nextUser = 10_000
    const refreshScript = async () => {
      const pool = await makeRefreshPool(app, deps, github, issuer, POOL_USERS, nextUser)
      nextUser += POOL_USERS
      const script = join(dir, `pool-${nextUser}.lua`)
      await writePoolScript(script, pool, 2)
      return script
    }
    await wrk({
      url: `${urlOf(threePort)}/verify`,
      headers: verifyHeaders,
      connections: 32,
      seconds: 1,
    })
    // Warm every replica's refresh path (JIT) before anything is measured.
    await wrk({ url: urlOf(threePort), script: await refreshScript(), connections: 32, seconds: 1 })
    const samples: {
      endpoint: ReplicasBenchRow['endpoint']
      one: number
      three: number
      non2xx: number
    }[] = []
    for (let round = 0; round < rounds; round++) {
      const verify = async (port: number) =>
        wrk({ url: `${urlOf(port)}/verify`, headers: verifyHeaders, connections: 32, seconds })
      const oneVerify = await verify(onePort)
      const threeVerify = await verify(threePort)
      samples.push({
        endpoint: '/verify',
        one: oneVerify.requestsPerSecond,
        three: threeVerify.requestsPerSecond,
        non2xx: oneVerify.non2xx + threeVerify.non2xx,
      })
      const refresh = async (port: number) =>
        wrk({ url: urlOf(port), script: await refreshScript(), connections: 32, seconds })
      const oneRefresh = await refresh(onePort)
      const threeRefresh = await refresh(threePort)
      samples.push({
        endpoint: '/token (refresh)',
        one: oneRefresh.requestsPerSecond,
        three: threeRefresh.requestsPerSecond,
        non2xx: oneRefresh.non2xx + threeRefresh.non2xx,
      })
    }
    for (const endpoint of ['/verify', '/token (refresh)'] as const) {
      const mine = samples.filter((sample) => sample.endpoint === endpoint)
      rows.push({
        endpoint,
        one: median(mine.map((s) => s.one)),
        three: median(mine.map((s) => s.three)),
        ratio: median(mine.map((s) => s.three / s.one)),
        non2xx: mine.reduce((sum, s) => sum + s.non2xx, 0),
      })
    }
  } finally {
    for (const proxy of proxies) await proxy.stop()
    for (const replica of replicas) await replica.stop()
    await store.close()
    await github.close()
    await redis.stop()
    await rm(dir, { recursive: true, force: true })
  }
  const lines = [
    `Three auth replicas vs one on one Redis, behind nginx round robin, wrk 2 threads c=32, ${seconds} s per run, median of ${rounds} alternating rounds`,
    '| endpoint | 1 replica req/s | 3 replicas req/s | ratio | non-2xx |',
    '|---|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.endpoint} | ${r.one.toFixed(0)} | ${r.three.toFixed(0)} | ${r.ratio.toFixed(2)}× | ${r.non2xx} |`
    ),
    'Why not 3×: the 2 cores are shared by wrk (2 threads), nginx, Redis and the replicas; one replica already gets about all the CPU the others leave, so three split the same CPU (plus more context switches): near 1×, and below under outside load. Linear scaling needs a core per replica beyond the load generator, proxy and Redis.',
  ]
  process.stdout.write(`${lines.join('\n')}\n`)
  return rows
}

function nginxConfig(dir: string, port: number, servers: readonly number[]): string {
  return `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx-${port}.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/temp-${port}/body;
  proxy_temp_path ${dir}/temp-${port}/proxy;
  fastcgi_temp_path ${dir}/temp-${port}/fastcgi;
  uwsgi_temp_path ${dir}/temp-${port}/uwsgi;
  scgi_temp_path ${dir}/temp-${port}/scgi;
  upstream gateway_auth {
${servers.map((server) => `    server 127.0.0.1:${server};`).join('\n')}
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://gateway_auth;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
    }
  }
}
`
}

if (import.meta.main) await benchReplicas()
