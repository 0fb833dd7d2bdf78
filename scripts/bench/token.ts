import { spawn } from 'node:child_process'
import { createHash, randomUUID } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { issueAuthorizationCode } from '../../auth/src/oauth/authorization-code.ts'
import { freePort } from '../../tests/support/free-port.ts'
import { startBenchGateway } from './bench-gateway.ts'
import { type CpuPerRequest, cpuPerRequest, readCpu } from './cpu-per-request.ts'
import { writePoolScript } from './refresh-pool.ts'
import { startTokenFloor } from './token-floor.ts'
import { listScript } from './token-scripts.ts'
import { close, listening, median } from './wrk.ts'

const WRK = '/usr/bin/wrk'
const USERS = 128
const VERIFIER = 'bench-code-verifier-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFG'

export interface TokenBenchRow {
  readonly grant: 'authorization_code' | 'refresh_token'
  readonly bare: number
  /** The same Redis commands and signature on a bare server (`token-floor.ts`). */
  readonly floor: number
  readonly token: number
  /** `/token` throughput as a share of the bare server's (median of the per-round ratios). */
  readonly ratio: number
  /** The floor's throughput as a share of the bare server's: the most the work itself allows. */
  readonly floorRatio: number
  readonly non2xx: number
  /** CPU per request of the Node process, Redis and wrk, medians (`cpu-per-request.ts`). */
  readonly cpu: Readonly<Record<'bare' | 'floor' | 'token', CpuPerRequest>>
}

/**
 * `POST /token` on one process (the real app on a real Redis, users re-checked at a fake GitHub
 * in the same process), against a bare `node:http` server answering the same-size JSON body to
 * the same requests, same load generator (wrk, 2 threads, c=32), alternating for `rounds` rounds.
 * Code exchanges redeem codes written beforehand, one each; refreshes rotate 128 families of 128
 * users, each response's refresh token going back into the pool (so every user refreshes about
 * every 128th request, and GitHub is asked per USER_RECHECK_INTERVAL, as in production).
 */
export async function benchToken(seconds = 5, rounds = 3): Promise<TokenBenchRow[]> {
  const gateway = await startBenchGateway({ AUTH_CODE_TTL: '600' })
  const { issuer, deps, app, github, control } = gateway
  const floor = await startTokenFloor(gateway.redisUrl, await freePort())
  const floorUrl = `http://127.0.0.1:${(floor.server.address() as AddressInfo).port}`
  const store = deps.store
  const dir = await mkdtemp(join(tmpdir(), 'token-bench-'))
  let canned = ''
  const bare = createServer((request, response) => {
    request.resume()
    request.on('end', () => {
      response.writeHead(200, {
        'Content-Type': 'application/json',
        'Content-Length': Buffer.byteLength(canned),
        'Cache-Control': 'no-store',
      })
      response.end(canned)
    })
  }).listen(0, '127.0.0.1')
  await listening(bare)
  const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}`

  const rows: TokenBenchRow[] = []
  try {
    const resource = `${issuer}/echo/mcp`
    const registered = await app.request(`${issuer}/register`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        client_name: 'bench',
        redirect_uris: ['http://127.0.0.1:9/callback'],
        grant_types: ['authorization_code', 'refresh_token'],
        token_endpoint_auth_method: 'none',
      }),
    })
    const client = (await registered.json()) as { client_id: string }
    const subjects = Array.from({ length: USERS }, (_, i) => ({
      id: String(7000 + i),
      login: `u${i}`,
    }))
    for (const subject of subjects) {
      github.addUser({ id: Number(subject.id), login: subject.login })
      const { token } = github.issueToken(subject.login)
      await deps.upstream?.grants.save(subject.id, { accessToken: token }, 86_400)
    }
    const codeFor = (i: number) =>
      issueAuthorizationCode(
        store,
        {
          clientId: client.client_id,
          redirectUri: 'http://127.0.0.1:9/callback',
          codeChallenge: createHash('sha256').update(VERIFIER).digest('base64url'),
          scopes: ['mcp', 'offline_access'],
          resources: [resource],
          subject: subjects[i % USERS] as { id: string; login: string },
          familyId: randomUUID(),
        },
        600
      )
    const form = (params: Record<string, string>) => new URLSearchParams(params).toString()
    const codeBody = (code: string) =>
      form({
        grant_type: 'authorization_code',
        code,
        code_verifier: VERIFIER,
        redirect_uri: 'http://127.0.0.1:9/callback',
        client_id: client.client_id,
      })
    // One new family per user to refresh (each wrk run starts from the tokens in its script),
    // and the response body the bare server mirrors.
    const families = async (round: number) => {
      const tokens: string[] = []
      for (let i = 0; i < USERS; i++) {
        const response = await app.request(`${issuer}/token`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
          body: codeBody(await codeFor(i)),
        })
        const text = await response.text()
        if (response.status !== 200) throw new Error(`/token answered ${response.status}: ${text}`)
        // Refreshed once here: the user is checked at GitHub now, and refreshes within
        // USER_RECHECK_INTERVAL (the whole bench) believe that check, as in steady state.
        const refreshed = await app.request(`${issuer}/token`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
          body: form({
            grant_type: 'refresh_token',
            client_id: client.client_id,
            refresh_token: (JSON.parse(text) as { refresh_token: string }).refresh_token,
          }),
        })
        canned = await refreshed.text()
        if (refreshed.status !== 200)
          throw new Error(`refresh answered ${refreshed.status}: ${canned}`)
        tokens.push((JSON.parse(canned) as { refresh_token: string }).refresh_token)
      }
      const script = join(dir, `refresh-${round}.lua`)
      await writePoolScript(script, { clientId: client.client_id, tokens }, 2)
      await floor.prepare('refresh', tokens)
      return script
    }
    await families(-1)

    const samples: {
      grant: TokenBenchRow['grant']
      bare: number
      floor: number
      token: number
      non2xx: number
      cpu: TokenBenchRow['cpu']
    }[] = []
    const run = async (url: string, script: string) => {
      const before = await readCpu(control)
      const figures = await wrk(url, script, seconds)
      return { ...figures, cpu: cpuPerRequest(before, await readCpu(control), figures.requests) }
    }
    for (let round = 0; round < rounds; round++) {
      // Enough codes for the run at 8,000/s, twice what a fast host has measured: each is redeemed
      // once (a code used again is a 400, and cheaper than an exchange).
      const codes: string[] = []
      while (codes.length < seconds * 8_000) {
        codes.push(...(await Promise.all(Array.from({ length: 500 }, (_, i) => codeFor(i)))))
      }
      const codeScript = join(dir, `codes-${round}.lua`)
      await writeFile(codeScript, listScript(codes.map(codeBody)))
      await floor.prepare('code', codes)
      const bareCode = await run(`${bareUrl}/token`, codeScript)
      const floorCode = answered(await run(`${floorUrl}/token`, codeScript))
      const code = await run(`${issuer}/token`, codeScript)
      samples.push({
        grant: 'authorization_code',
        bare: bareCode.rps,
        floor: floorCode.rps,
        token: code.rps,
        non2xx: code.non2xx,
        cpu: { bare: bareCode.cpu, floor: floorCode.cpu, token: code.cpu },
      })
      const refreshScript = await families(round)
      const bareRefresh = await run(`${bareUrl}/token`, refreshScript)
      const floorRefresh = answered(await run(`${floorUrl}/token`, refreshScript))
      const refresh = await run(`${issuer}/token`, refreshScript)
      samples.push({
        grant: 'refresh_token',
        bare: bareRefresh.rps,
        floor: floorRefresh.rps,
        token: refresh.rps,
        non2xx: refresh.non2xx,
        cpu: { bare: bareRefresh.cpu, floor: floorRefresh.cpu, token: refresh.cpu },
      })
    }
    for (const grant of ['authorization_code', 'refresh_token'] as const) {
      const mine = samples.filter((sample) => sample.grant === grant)
      rows.push({
        grant,
        bare: median(mine.map((s) => s.bare)),
        token: median(mine.map((s) => s.token)),
        floor: median(mine.map((s) => s.floor)),
        ratio: median(mine.map((s) => s.token / s.bare)),
        floorRatio: median(mine.map((s) => s.floor / s.bare)),
        non2xx: mine.reduce((sum, s) => sum + s.non2xx, 0),
        cpu: {
          bare: medianCpu(mine.map((s) => s.cpu.bare)),
          floor: medianCpu(mine.map((s) => s.cpu.floor)),
          token: medianCpu(mine.map((s) => s.cpu.token)),
        },
      })
    }
  } finally {
    await Promise.all([gateway.close(), close(bare), floor.close()])
    await rm(dir, { recursive: true, force: true })
  }
  const lines = [
    `/token vs bare node:http answering the same-size JSON, and vs the same Redis commands and signature on node:http (floor), wrk 2 threads c=32, ${seconds} s per run, median of ${rounds} alternating rounds`,
    '| grant | bare req/s | floor req/s | /token req/s | ratio | floor ratio | non-2xx |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.grant} | ${r.bare.toFixed(0)} | ${r.floor.toFixed(0)} | ${r.token.toFixed(0)} | ${r.ratio.toFixed(2)}× | ${r.floorRatio.toFixed(2)}× | ${r.non2xx} |`
    ),
    '',
    'CPU per request, µs (medians): the Node process serving, Redis, wrk; 2 cores give 2,000,000 µs a second',
    '| grant | server | Node | Redis | wrk | sum |',
    '|---|---|---:|---:|---:|---:|',
    ...rows.flatMap((r) =>
      (['bare', 'floor', 'token'] as const).map((server) => {
        const { server: node, redis, loadGenerator } = r.cpu[server]
        const cells = [node, redis, loadGenerator, node + redis + loadGenerator]
        return `| ${r.grant} | ${server === 'token' ? '/token' : server} | ${cells.map((v) => v.toFixed(0)).join(' | ')} |`
      })
    ),
  ]
  process.stdout.write(`${lines.join('\n')}\n`)
  return rows
}

function medianCpu(samples: readonly CpuPerRequest[]): CpuPerRequest {
  return {
    server: median(samples.map((s) => s.server)),
    redis: median(samples.map((s) => s.redis)),
    loadGenerator: median(samples.map((s) => s.loadGenerator)),
  }
}

/** The floor answers 200 to anything unless it is broken; a broken floor measures nothing. */
function answered<Run extends { non2xx: number }>(run: Run): Run {
  if (run.non2xx > 0) throw new Error(`the token floor failed ${run.non2xx} requests`)
  return run
}

async function wrk(
  url: string,
  script: string,
  seconds: number
): Promise<{ rps: number; requests: number; non2xx: number }> {
  const args = ['-t2', '-c32', `-d${seconds}s`, '-s', script, url]
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
  if (process.env.TOKEN_BENCH_DEBUG) process.stderr.write(output)
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(output)?.[1] ?? Number.NaN),
    requests: Number(/(\d+) requests in/.exec(output)?.[1] ?? Number.NaN),
    non2xx: Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(output)?.[1] ?? 0),
  }
}

if (import.meta.main) await benchToken()
