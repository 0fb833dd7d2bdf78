import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { freePort } from './free-port.ts'

/** The gateway started as a real process, the way the README's start command starts it. */
export interface GatewayProcess {
  readonly url: string
  readonly port: number
  readonly output: () => string
  /** The process itself (its pid, its exit), for tests of how it stops. */
  readonly child: ChildProcess
  stop(): Promise<void>
}

const ROOT = new URL('../../', import.meta.url).pathname

export async function startGatewayProcess(
  env: Record<string, string> = {},
  options: {
    startTimeoutMs?: number
    /** Given the output read so far as soon as the process runs, before it listens. */
    onSpawn?: (output: () => string) => void
  } = {}
): Promise<GatewayProcess> {
  const port = env.PORT ? Number(env.PORT) : await freePort()
  const child = spawn(process.execPath, ['auth/src/main.ts'], {
    cwd: ROOT,
    // No readiness grace on SIGTERM unless a test asks for one (tests stop gateways often).
    env: {
      PATH: process.env.PATH ?? '',
      PORT: String(port),
      LOG_LEVEL: 'info',
      SHUTDOWN_DELAY: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString()
  })
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString()
  })
  options.onSpawn?.(() => output)
  const url = env.AUTH_ISSUER ?? `http://localhost:${port}`
  await waitUntilListening(child, port, () => output, options.startTimeoutMs ?? 20_000)
  return {
    url,
    port,
    output: () => output,
    child,
    async stop() {
      // Exited, or killed by a signal (a test's SIGKILL): nothing left to wait for.
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      await once(child, 'exit')
    },
  }
}

async function waitUntilListening(
  child: ChildProcess,
  port: number,
  output: () => string,
  timeoutMs: number
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`gateway exited with ${child.exitCode}: ${output()}`)
    try {
      const response = await fetch(`http://127.0.0.1:${port}/health`)
      if (response.ok) return
    } catch {
      // not listening yet
    }
    await sleep(100)
  }
  child.kill('SIGKILL')
  throw new Error(`gateway did not start: ${output()}`)
}

/**
 * Runs the gateway expecting it to refuse to start; resolves with its exit code and output. One
 * that is still running after `timeoutMs` is killed (code null), so a start that should have been
 * refused fails its test rather than hanging it.
 */
export async function runGatewayExpectingFailure(
  env: Record<string, string>,
  { timeoutMs = 60_000 }: { timeoutMs?: number } = {}
) {
  const child = spawn(process.execPath, ['auth/src/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  const [code] = (await once(child, 'exit')) as [number | null]
  clearTimeout(killer)
  return { code, stderr }
}
