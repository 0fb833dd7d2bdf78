import { spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import {
  Client as ModernClient,
  StreamableHTTPClientTransport as ModernHttpTransport,
} from '@modelcontextprotocol/client'
import { StdioClientTransport as ModernStdioTransport } from '@modelcontextprotocol/client/stdio'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'

/** Latency percentiles of one way of calling the same tool, in milliseconds. */
export interface LatencyFigures {
  readonly p50: number
  readonly p99: number
  readonly mean: number
  readonly calls: number
}

/** One protocol era: the same client straight over stdio and through the bridge. */
export interface EraFigures {
  readonly stdio: LatencyFigures
  readonly bridge: LatencyFigures
  /** What the bridge adds to one `tools/call` round trip, in milliseconds. */
  readonly overhead: { readonly p50: number; readonly p99: number }
  /**
   * CPU time the bridge process (not its child) spent per call, in milliseconds: steadier than
   * the latency on a busy machine, and what the bridge's own work costs.
   */
  readonly bridgeCpuPerCall: number
}

export interface BridgeBenchResult {
  /** 2025-11-25 with a session (the v1 SDK client). */
  readonly session: EraFigures
  /** 2026-07-28 without one (the v2 SDK client pinned to it). */
  readonly stateless: EraFigures
}

/** The least both clients need to be measured the same way. */
interface BenchClient {
  callTool(params: { name: string; arguments: Record<string, unknown> }): Promise<unknown>
  close(): Promise<void>
}

const root = fileURLToPath(new URL('../../', import.meta.url))
const echoServer = `${root}mcp-services/src/services/echo-server.ts`
const bridgeMain = `${root}mcp-services/src/main.ts`

/**
 * `tools/call` round trip of the `echo` service (sequential calls, one client), per protocol era:
 * straight over stdio vs through the bridge (a separate process started as `start:service echo`,
 * over loopback HTTP). The session era uses the v1 SDK client (2025-11-25, a session, answers as
 * SSE); the stateless era the v2 SDK client pinned to 2026-07-28 (no session, the user's pooled
 * child). Each era's stdio figure comes from the same client library over stdio (the v2 client
 * negotiates 2025-11-25 there: the echo server is a session-era server), so the difference is the
 * bridge, not the client. Prints the figures and returns them.
 */
export async function benchBridge(calls = 1000, warmup = 100): Promise<BridgeBenchResult> {
  const stdioSession = await measure(() => connectV1Stdio(), calls, warmup)
  const stdioStateless = await measure(() => connectV2Stdio(), calls, warmup)
  const port = await freePort()
  const bridgeProcess = spawn(process.execPath, [bridgeMain, 'echo'], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  try {
    await waitForHealth(`http://127.0.0.1:${port}/health`)
    const url = new URL(`http://127.0.0.1:${port}/mcp`)
    const pid = bridgeProcess.pid ?? 0
    const bridgeSession = await measure(() => connectV1Http(url), calls, warmup, pid)
    const bridgeStateless = await measure(() => connectV2Http(url), calls, warmup, pid)
    const result = {
      session: era(stdioSession, bridgeSession),
      stateless: era(stdioStateless, bridgeStateless),
    }
    print(result)
    return result
  } finally {
    bridgeProcess.kill('SIGTERM')
    await new Promise((resolve) => bridgeProcess.once('exit', resolve))
  }
}

async function connectV1Stdio(): Promise<BenchClient> {
  const client = new Client({ name: 'bench', version: '0' })
  await client.connect(new StdioClientTransport({ command: process.execPath, args: [echoServer] }))
  return client
}

async function connectV1Http(url: URL): Promise<BenchClient> {
  const transport = new StreamableHTTPClientTransport(url, {
    requestInit: { headers: { 'X-User-Id': 'bench' } },
  })
  const client = new Client({ name: 'bench', version: '0' })
  await client.connect(transport)
  return {
    callTool: (params) => client.callTool(params),
    async close() {
      await transport.terminateSession()
      await client.close()
    },
  }
}

async function connectV2Stdio(): Promise<BenchClient> {
  const client = new ModernClient({ name: 'bench', version: '0' })
  await client.connect(new ModernStdioTransport({ command: process.execPath, args: [echoServer] }))
  return client
}

async function connectV2Http(url: URL): Promise<BenchClient> {
  const transport = new ModernHttpTransport(url, {
    requestInit: { headers: { 'X-User-Id': 'bench' } },
  })
  const client = new ModernClient(
    { name: 'bench', version: '0' },
    { versionNegotiation: { mode: { pin: '2026-07-28' } } }
  )
  await client.connect(transport)
  return client
}

async function measure(
  connect: () => Promise<BenchClient>,
  calls: number,
  warmup: number,
  cpuOfPid?: number
): Promise<LatencyFigures & { cpuPerCall: number }> {
  const client = await connect()
  const samples: number[] = []
  let cpuBefore = 0
  for (let i = 0; i < warmup + calls; i++) {
    if (i === warmup && cpuOfPid) cpuBefore = await cpuMilliseconds(cpuOfPid)
    const start = performance.now()
    await client.callTool({ name: 'echo', arguments: { message: `call ${i}` } })
    if (i >= warmup) samples.push(performance.now() - start)
  }
  const cpu = cpuOfPid ? (await cpuMilliseconds(cpuOfPid)) - cpuBefore : 0
  await client.close()
  samples.sort((a, b) => a - b)
  const at = (q: number) =>
    samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? 0
  const mean = samples.reduce((sum, value) => sum + value, 0) / samples.length
  return {
    p50: round(at(0.5)),
    p99: round(at(0.99)),
    mean: round(mean),
    calls,
    cpuPerCall: round(cpu / calls),
  }
}

/** User + system CPU time of one process so far (`/proc/<pid>/stat`, Linux), in milliseconds. */
async function cpuMilliseconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
  // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const ticks = Number(fields[11]) + Number(fields[12])
  return (ticks * 1000) / CLOCK_TICKS_PER_SECOND
}

/** `getconf CLK_TCK` on Linux. */
const CLOCK_TICKS_PER_SECOND = 100

function era(
  stdio: LatencyFigures,
  { cpuPerCall, ...bridge }: LatencyFigures & { cpuPerCall: number }
): EraFigures {
  return {
    stdio,
    bridge,
    overhead: { p50: round(bridge.p50 - stdio.p50), p99: round(bridge.p99 - stdio.p99) },
    bridgeCpuPerCall: cpuPerCall,
  }
}

function print(result: BridgeBenchResult): void {
  const line = (name: string, f: LatencyFigures) =>
    `  ${name.padEnd(20)} p50 ${f.p50.toFixed(3)} ms   p99 ${f.p99.toFixed(3)} ms   mean ${f.mean.toFixed(3)} ms   (${f.calls} calls)`
  const block = (title: string, figures: EraFigures) => {
    console.log(title)
    console.log(line('stdio (no bridge)', figures.stdio))
    console.log(line('through the bridge', figures.bridge))
    console.log(
      `  ${'added by the bridge'.padEnd(20)} p50 ${figures.overhead.p50.toFixed(3)} ms   p99 ${figures.overhead.p99.toFixed(3)} ms`
    )
    console.log(
      `  ${'bridge CPU per call'.padEnd(20)} ${figures.bridgeCpuPerCall.toFixed(3)} ms (the bridge process alone)`
    )
  }
  console.log('Bridge overhead: tools/call round trip of the echo service')
  block('session era (2025-11-25, v1 client, a session, SSE answers)', result.session)
  block('stateless era (2026-07-28, v2 client pinned, pooled child)', result.stateless)
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port'))
      )
    })
  })
}

export async function waitForHealth(url: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url)).ok) return
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`the bridge did not answer ${url} within ${timeoutMs} ms`)
}

if (import.meta.main) await benchBridge()
