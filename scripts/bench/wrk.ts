import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import type { Server } from 'node:http'

const WRK = '/usr/bin/wrk'

/** One wrk run: throughput, latency percentiles (milliseconds) and the answers that were not 2xx. */
export interface WrkFigures {
  readonly requestsPerSecond: number
  readonly p50: number
  readonly p99: number
  readonly non2xx: number
}

export interface WrkRun {
  readonly url: string
  readonly connections: number
  readonly seconds: number
  readonly headers?: Record<string, string>
  /** A Lua script file (request bodies, token pools). */
  readonly script?: string
}

export function requireWrk(): void {
  if (!existsSync(WRK)) {
    throw new Error(`${WRK} is missing: install it with scripts/ensure-system-packages.sh`)
  }
}

/** Runs wrk (2 threads, 1 at c=1) and reads its summary. */
export async function wrk(run: WrkRun): Promise<WrkFigures> {
  const threads = Math.min(run.connections, 2)
  const args = [`-t${threads}`, `-c${run.connections}`, `-d${run.seconds}s`, '--latency']
  for (const [name, value] of Object.entries(run.headers ?? {}))
    args.push('-H', `${name}: ${value}`)
  if (run.script) args.push('-s', run.script)
  args.push(run.url)
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

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN
}

/** The median of each figure over rounds (non-2xx summed). */
export function medianFigures(samples: readonly WrkFigures[]): WrkFigures {
  return {
    requestsPerSecond: median(samples.map((s) => s.requestsPerSecond)),
    p50: median(samples.map((s) => s.p50)),
    p99: median(samples.map((s) => s.p99)),
    non2xx: samples.reduce((sum, s) => sum + s.non2xx, 0),
  }
}

export function listening(server: Server): Promise<void> {
  return server.listening
    ? Promise.resolve()
    : new Promise((resolve) => server.once('listening', () => resolve()))
}

export function close(server: Server): Promise<void> {
  server.closeAllConnections()
  return new Promise((resolve) => server.close(() => resolve()))
}

/** `1.23 ms` */
export const ms = (value: number) => `${value.toFixed(2)} ms`
