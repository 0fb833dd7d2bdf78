import { readFile } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { startFakeGitHub } from '../../tests/support/fake-github.ts'
import { freePort } from '../../tests/support/free-port.ts'
import { startGatewayProcess } from '../../tests/support/gateway-process.ts'
import { startRedisServer } from '../../tests/support/redis-server.ts'
import { signIn } from './families.ts'
import { Mix, type Operation } from './load.ts'

export interface SoakOptions {
  /** Requests per second, held whatever the answers' latency (an open loop). */
  readonly rate: number
  readonly durationSeconds: number
  readonly intervalSeconds: number
  /** Refresh families (one user, one client), each refreshed in turn. */
  readonly families: number
  readonly print: (line: string) => void
}

export interface SoakInterval {
  readonly atSeconds: number
  readonly achievedRate: number
  readonly errors: number
  readonly gatewayRssMb: number
  readonly redisKeys: number
}

export interface SoakSummary {
  readonly sent: number
  readonly answered: Record<Operation, number>
  readonly errors: number
  /** The first few unexpected answers, for the report. */
  readonly errorSamples: string[]
  /** Requests the loop could not send on time because too many were still waiting. */
  readonly late: number
  readonly achievedRate: number
  readonly intervals: SoakInterval[]
  readonly keysBefore: Record<string, number>
  readonly keysAfter: Record<string, number>
  readonly rssMb: { readonly start: number; readonly end: number; readonly max: number }
}

const PREFIX = 'gateway:'

/**
 * `npm run soak`: a Redis of its own, a fake GitHub, the gateway as a process (`GATEWAY_MODE=auth`,
 * as in compose), families signed in through the code flow, then the mix of `load.ts` at a fixed
 * rate. Every interval prints the achieved rate, the errors, the gateway's RSS and Redis' key
 * count; the summary adds the keys by kind before and after.
 */
export async function runSoak(options: SoakOptions): Promise<SoakSummary> {
  const { rate, durationSeconds, intervalSeconds, print } = options
  const redis = await startRedisServer()
  const port = await freePort()
  const issuer = `http://localhost:${port}`
  const github = await startFakeGitHub({
    callbackUrl: `${issuer}/callback`,
    users: [{ id: 4242, login: 'octocat' }],
  })
  const admin = new Redis(redis.url)
  const gateway = await startGatewayProcess(
    {
      ...github.env,
      PORT: String(port),
      GATEWAY_MODE: 'auth',
      AUTH_ISSUER: issuer,
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: PREFIX,
      ALLOWED_GITHUB_USERS: 'octocat',
      LOG_LEVEL: 'warn',
      // The mix comes from one address: the per-caller limits must not be what is measured.
      TOKEN_RATE_LIMIT: String(rate * 60),
      REGISTRATION_RATE_LIMIT: String(rate * 60),
      REGISTRATION_GLOBAL_RATE_LIMIT: String(rate * 60),
    },
    { startTimeoutMs: 90_000 }
  )
  const mix = new Mix(issuer, await signIn(issuer, options.families))
  try {
    const pid = gateway.child.pid ?? 0
    const keysBefore = await keysByKind(admin)
    const rssStart = await rssMb(pid)
    print(
      `soak: ${rate} req/s for ${durationSeconds} s against ${issuer} (gateway pid ${pid}, RSS ${rssStart} MB, ${await admin.dbsize()} Redis keys)`
    )
    const answered: Record<Operation, number> = {
      verify: 0,
      refresh: 0,
      register: 0,
      revoke: 0,
      delete: 0,
    }
    const errorSamples: string[] = []
    const intervals: SoakInterval[] = []
    let sent = 0
    let late = 0
    let errors = 0
    let inFlight = 0
    let intervalAnswers = 0
    let intervalErrors = 0
    let maxRss = rssStart
    const maxInFlight = Math.max(200, rate * 2)
    const started = performance.now()
    let nextReport = started + intervalSeconds * 1000
    let intervalStart = started
    const end = started + durationSeconds * 1000
    const pending = new Set<Promise<void>>()

    while (performance.now() < end) {
      const now = performance.now()
      const due = Math.floor(((now - started) / 1000) * rate) - sent - late
      for (let i = 0; i < due; i++) {
        if (inFlight >= maxInFlight) {
          late += due - i
          break
        }
        sent++
        inFlight++
        const request = mix.next().then((outcome) => {
          inFlight--
          answered[outcome.operation]++
          intervalAnswers++
          if (outcome.error) {
            errors++
            intervalErrors++
            if (errorSamples.length < 10) errorSamples.push(outcome.error)
          }
        })
        pending.add(request)
        void request.finally(() => pending.delete(request))
      }
      if (now >= nextReport) {
        const seconds = (now - intervalStart) / 1000
        const interval: SoakInterval = {
          atSeconds: Math.round((now - started) / 1000),
          achievedRate: Math.round(intervalAnswers / seconds),
          errors: intervalErrors,
          gatewayRssMb: await rssMb(pid),
          redisKeys: await admin.dbsize(),
        }
        maxRss = Math.max(maxRss, interval.gatewayRssMb)
        intervals.push(interval)
        print(
          `${String(interval.atSeconds).padStart(5)} s  ${String(interval.achievedRate).padStart(5)} req/s  errors ${interval.errors}  late ${late}  gateway RSS ${interval.gatewayRssMb} MB  Redis keys ${interval.redisKeys}`
        )
        intervalAnswers = 0
        intervalErrors = 0
        intervalStart = now
        nextReport += intervalSeconds * 1000
      }
      await sleep(2)
    }
    await Promise.all(pending)
    const elapsed = (performance.now() - started) / 1000
    const total = Object.values(answered).reduce((sum, n) => sum + n, 0)
    const summary: SoakSummary = {
      sent,
      answered,
      errors,
      errorSamples,
      late,
      achievedRate: Math.round(total / elapsed),
      intervals,
      keysBefore,
      keysAfter: await keysByKind(admin),
      rssMb: { start: rssStart, end: await rssMb(pid), max: maxRss },
    }
    printSummary(summary, print)
    return summary
  } finally {
    await mix.close()
    await gateway.stop()
    await admin.quit()
    await github.close()
    await redis.stop()
  }
}

/** The gateway's resident set (MB), from /proc. */
async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '')
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0)
  return Math.round(kb / 1024)
}

/** Keys counted by the part of their name before the first `:` after the prefix. */
async function keysByKind(redis: Redis): Promise<Record<string, number>> {
  const kinds: Record<string, number> = {}
  let cursor = '0'
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 1000)
    cursor = next
    for (const key of found) {
      const rest = key.slice(PREFIX.length)
      const kind = rest.startsWith('revoked:') ? rest.split(':', 2).join(':') : rest.split(':')[0]
      kinds[kind ?? ''] = (kinds[kind ?? ''] ?? 0) + 1
    }
  } while (cursor !== '0')
  return kinds
}

function printSummary(summary: SoakSummary, print: (line: string) => void): void {
  const { answered, rssMb } = summary
  print(
    `summary: ${summary.achievedRate} req/s over the run, ${summary.sent} sent, ${summary.late} late, ${summary.errors} errors`
  )
  print(
    `  answered: verify ${answered.verify}, refresh ${answered.refresh}, register ${answered.register}, revoke ${answered.revoke}, delete ${answered.delete}`
  )
  print(
    `  gateway RSS: ${rssMb.start} MB at start, ${rssMb.max} MB at most, ${rssMb.end} MB at end`
  )
  const kinds = new Set([...Object.keys(summary.keysBefore), ...Object.keys(summary.keysAfter)])
  const growth = [...kinds]
    .sort()
    .map((kind) => {
      const before = summary.keysBefore[kind] ?? 0
      const after = summary.keysAfter[kind] ?? 0
      return `${kind} ${before} → ${after}`
    })
    .join(', ')
  print(`  Redis keys by kind: ${growth}`)
  for (const sample of summary.errorSamples) print(`  error: ${sample}`)
}
