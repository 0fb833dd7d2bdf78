import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js'

/** Latency percentiles of one way of calling the same tool, in milliseconds. */
export interface LatencyFigures {
  readonly p50: number
  readonly p99: number
  readonly mean: number
  readonly calls: number
}

export interface BridgeBenchResult {
  readonly stdio: LatencyFigures
  readonly bridge: LatencyFigures
  /** What the bridge adds to one `tools/call` round trip, in milliseconds. */
  readonly overhead: { readonly p50: number; readonly p99: number }
}

const root = fileURLToPath(new URL('../../', import.meta.url))
const echoServer = `${root}mcp-services/src/services/echo-server.ts`
const bridgeMain = `${root}mcp-services/src/main.ts`

/**
 * `tools/call` round trip of the `echo` service (sequential calls, one client): straight over
 * stdio vs through the bridge (a separate process started as `start:service echo`, over loopback
 * HTTP with SSE responses). Prints the figures and returns them.
 */
export async function benchBridge(calls = 1000, warmup = 100): Promise<BridgeBenchResult> {
  const stdio = await measure(
    new StdioClientTransport({ command: process.execPath, args: [echoServer] }),
    calls,
    warmup
  )
  const port = await freePort()
  const bridgeProcess = spawn(process.execPath, [bridgeMain, 'echo'], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  try {
    await waitForHealth(`http://127.0.0.1:${port}/health`)
    const transport = new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`), {
      requestInit: { headers: { 'X-User-Id': 'bench' } },
    })
    const bridge = await measure(transport, calls, warmup, () => transport.terminateSession())
    const result = {
      stdio,
      bridge,
      overhead: { p50: round(bridge.p50 - stdio.p50), p99: round(bridge.p99 - stdio.p99) },
    }
    print(result)
    return result
  } finally {
    bridgeProcess.kill('SIGTERM')
    await new Promise((resolve) => bridgeProcess.once('exit', resolve))
  }
}

async function measure(
  transport: Transport,
  calls: number,
  warmup: number,
  beforeClose?: () => Promise<void>
): Promise<LatencyFigures> {
  const client = new Client({ name: 'bench', version: '0' })
  await client.connect(transport)
  const samples: number[] = []
  for (let i = 0; i < warmup + calls; i++) {
    const start = performance.now()
    await client.callTool({ name: 'echo', arguments: { message: `call ${i}` } })
    if (i >= warmup) samples.push(performance.now() - start)
  }
  await beforeClose?.()
  await client.close()
  samples.sort((a, b) => a - b)
  const at = (q: number) =>
    samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? 0
  const mean = samples.reduce((sum, value) => sum + value, 0) / samples.length
  return { p50: round(at(0.5)), p99: round(at(0.99)), mean: round(mean), calls }
}

function print(result: BridgeBenchResult): void {
  const line = (name: string, f: LatencyFigures) =>
    `${name.padEnd(22)} p50 ${f.p50.toFixed(3)} ms   p99 ${f.p99.toFixed(3)} ms   mean ${f.mean.toFixed(3)} ms   (${f.calls} calls)`
  console.log('Bridge overhead: tools/call round trip of the echo service')
  console.log(line('stdio (no bridge)', result.stdio))
  console.log(line('through the bridge', result.bridge))
  console.log(
    `${'added by the bridge'.padEnd(22)} p50 ${result.overhead.p50.toFixed(3)} ms   p99 ${result.overhead.p99.toFixed(3)} ms`
  )
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000
}

function freePort(): Promise<number> {
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

async function waitForHealth(url: string, timeoutMs = 15_000): Promise<void> {
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
