import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { GenericContainer, type StartedTestContainer } from 'testcontainers'
import { freePort } from './free-port.ts'

/**
 * A real Redis for tests, with AOF persistence (`appendfsync always`) so a restart loses nothing
 * that was acknowledged. Started through testcontainers when a container runtime answers, else
 * from the `redis-server` binary on a free loopback port.
 */
export interface RedisServer {
  readonly url: string
  readonly kind: 'container' | 'binary'
  /** Kills Redis without a clean shutdown (a crash) and starts it again on the same data. */
  restart(): Promise<void>
  stop(): Promise<void>
}

const PERSISTENCE = ['--appendonly', 'yes', '--appendfsync', 'always', '--save', '']

export async function startRedisServer(): Promise<RedisServer> {
  let containerFailure: string
  try {
    return await startContainer()
  } catch (error) {
    // Typically "Could not find a working container runtime strategy", within milliseconds.
    containerFailure = error instanceof Error ? error.message : String(error)
  }
  return startBinary(containerFailure)
}

async function startContainer(): Promise<RedisServer> {
  const container: StartedTestContainer = await new GenericContainer('redis:7-alpine')
    .withCommand(['redis-server', ...PERSISTENCE])
    .withExposedPorts(6379)
    .start()
  const urlOf = (c: StartedTestContainer) => `redis://${c.getHost()}:${c.getMappedPort(6379)}`
  let url = urlOf(container)
  return {
    kind: 'container',
    get url() {
      return url
    },
    async restart() {
      await container.restart({ timeout: 0 })
      url = urlOf(container)
      await waitForRedis(container.getHost(), container.getMappedPort(6379))
    },
    async stop() {
      await container.stop()
    },
  }
}

async function startBinary(containerFailure: string): Promise<RedisServer> {
  const binary = findRedisBinary(containerFailure)
  const dir = await mkdtemp(join(tmpdir(), 'gateway-redis-'))
  const port = await freePort()
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, ...PERSISTENCE]
  let child = await launch(binary, args, port)
  return {
    kind: 'binary',
    url: `redis://127.0.0.1:${port}`,
    async restart() {
      await kill(child, 'SIGKILL')
      child = await launch(binary, args, port)
    },
    async stop() {
      await kill(child, 'SIGTERM')
      await rm(dir, { recursive: true, force: true })
    },
  }
}

function findRedisBinary(containerFailure: string): string {
  const found = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' })
  const path = found.stdout.trim()
  if (found.status !== 0 || !path) {
    throw new Error(
      `No Redis for the tests: testcontainers failed (${containerFailure}) and no redis-server binary is on PATH; run scripts/ensure-system-packages.sh`
    )
  }
  return path
}

async function launch(binary: string, args: string[], port: number): Promise<ChildProcess> {
  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'inherit'] })
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`redis-server exited early with code ${code}`)))
  )
  exited.catch(() => {})
  await Promise.race([waitForRedis('127.0.0.1', port), exited])
  return child
}

async function kill(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill(signal)
  await exited
}

/** Polls with PING until Redis answers PONG (it refuses commands while loading the AOF). */
async function waitForRedis(host: string, port: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await ping(host, port)) return
    await sleep(50)
  }
  throw new Error(`Redis on ${host}:${port} did not become ready within ${timeoutMs} ms`)
}

function ping(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port })
    socket.setTimeout(1000)
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.once('data', (data) => {
      socket.destroy()
      resolve(data.toString().startsWith('+PONG'))
    })
    socket.once('error', () => resolve(false))
    socket.once('timeout', () => {
      socket.destroy()
      resolve(false)
    })
  })
}
