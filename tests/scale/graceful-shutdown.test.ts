import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js'
import { auth } from '@modelcontextprotocol/sdk/client/auth.js'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { afterEach, describe, expect, it } from 'vitest'
import type { FakeGitHub } from '../support/fake-github.ts'
import { freePort } from '../support/free-port.ts'
import { OCTOCAT, startGatewayWithGitHub } from '../support/gateway-with-github.ts'
import { type RedisServer, startRedisServer } from '../support/redis-server.ts'
import { HeadlessOAuthProvider } from '../support/sdk-oauth-provider.ts'

/**
 * Graceful shutdown with real processes (docs/operations.md): on SIGTERM `/ready` answers 503
 * while requests are still served, then the listener refuses new connections, the request in
 * flight (an 8 s tool call) completes, every child process ends and the process exits 0.
 */
const ROOT = new URL('../../', import.meta.url).pathname
const DELAY_S = 3
const CALL_S = 8

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {})
})

// Process start-ups on a busy machine take several seconds each.
describe('graceful shutdown', { timeout: 90_000 }, () => {
  it('a bridge on its own: not ready first, the call in flight completes, children end, exit 0', async () => {
    const { child, base, output } = await startBridgeProcess({
      SHUTDOWN_DELAY: String(DELAY_S),
      SHUTDOWN_TIMEOUT: '30',
    })
    await expectGracefulStop(child, base, `${base}/ready`, new URL(`${base}/mcp`), output)
  })

  it('a call longer than SHUTDOWN_TIMEOUT is cut, and the bridge still ends its children and exits 0', async () => {
    const { child, base, output } = await startBridgeProcess({
      SHUTDOWN_DELAY: '0',
      SHUTDOWN_TIMEOUT: '1',
    })
    const client = new Client({ name: 'shutdown', version: '1.0.0' })
    await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`)))
    let progressed: () => void = () => {}
    const started = new Promise<void>((resolve) => {
      progressed = resolve
    })
    const call = client.callTool(
      { name: 'trigger-long-running-operation', arguments: { duration: 60, steps: 60 } },
      undefined,
      { timeout: 90_000, onprogress: () => progressed() }
    )
    const outcome = call.then(
      () => 'answered',
      (error: unknown) => String(error)
    )
    await started
    const children = childPids(child.pid)
    const exited = once(child, 'exit') as Promise<[number | null, string | null]>
    const stopAt = Date.now()
    child.kill('SIGTERM')
    const [code] = await exited
    expect(code).toBe(0)
    // 1 s of drain, then the children's SIGTERM/SIGKILL bound (4 s), with room for a busy machine.
    expect(Date.now() - stopAt).toBeLessThan(20_000)
    expect(output()).toMatch(/"event":"listener_closed","outcome":"forced"/)
    // Cut, but told why first: the child ended, so the call ends with the session's error.
    const settled = await Promise.race([outcome, sleep(2_000).then(() => 'no answer')])
    expect(settled).toMatch(/-32003|Session ended/)
    for (const pid of children) expect(alive(pid), `child ${pid} outlived the process`).toBe(false)
    await client.close().catch(() => {})
  })

  it('a second signal of the other kind stops the bridge at once, without the drain', async () => {
    const { child, base, output } = await startBridgeProcess({
      SHUTDOWN_DELAY: '30',
      SHUTDOWN_TIMEOUT: '30',
    })
    const exited = once(child, 'exit') as Promise<[number | null, string | null]>
    child.kill('SIGTERM')
    await expect.poll(async () => (await fetch(`${base}/ready`)).status).toBe(503)
    const stopAt = Date.now()
    child.kill('SIGINT')
    const [code, signal] = await exited
    expect({ code, signal }).toEqual({ code: 130, signal: null })
    expect(Date.now() - stopAt).toBeLessThan(5_000)
    expect(output()).toContain('SIGINT again: stopping at once')
  })

  it('the standalone gateway on Redis: the same, and the store connection quits', async () => {
    const redis: RedisServer = await startRedisServer()
    cleanups.push(() => redis.stop())
    const { github, gateway } = await startGatewayWithGitHub([OCTOCAT], {
      REDIS_URL: redis.url,
      ALLOWED_GITHUB_USERS: 'octocat',
      MCP_EVERYTHING_ENABLED: 'true',
      LOG_FORMAT: 'json',
      SHUTDOWN_DELAY: String(DELAY_S),
      SHUTDOWN_TIMEOUT: '30',
    })
    cleanups.push(async () => {
      await gateway.stop()
      await (github as FakeGitHub).close()
    })
    const resource = new URL(`${gateway.url}/everything/mcp`)
    const provider = new HeadlessOAuthProvider({ redirectUrl: 'http://127.0.0.1:43126/callback' })
    expect(await auth(provider, { serverUrl: resource })).toBe('REDIRECT')
    expect(await auth(provider, { serverUrl: resource, authorizationCode: provider.code() })).toBe(
      'AUTHORIZED'
    )
    await expectGracefulStop(
      gateway.child,
      gateway.url,
      `${gateway.url}/ready`,
      resource,
      gateway.output,
      provider
    )
    expect(gateway.output()).toMatch(/"event":"stopped"/)
  })
})

async function expectGracefulStop(
  child: ChildProcess,
  base: string,
  readyUrl: string,
  mcpUrl: URL,
  output: () => string,
  authProvider?: OAuthClientProvider
): Promise<void> {
  expect((await fetch(readyUrl)).status).toBe(200)
  const client = new Client({ name: 'shutdown', version: '1.0.0' })
  const transport = new StreamableHTTPClientTransport(
    mcpUrl,
    authProvider ? { authProvider } : undefined
  )
  await client.connect(transport)
  let progressed: () => void = () => {}
  const started = new Promise<void>((resolve) => {
    progressed = resolve
  })
  const call = client.callTool(
    { name: 'trigger-long-running-operation', arguments: { duration: CALL_S, steps: CALL_S } },
    undefined,
    { timeout: 60_000, onprogress: () => progressed() }
  )
  await started
  const children = childPids(child.pid)
  expect(children.length).toBeGreaterThan(0)
  const exited = once(child, 'exit') as Promise<[number | null, string | null]>
  const stopAt = Date.now()
  child.kill('SIGTERM')

  // Not ready as soon as the signal is handled, while still served (a proxy stops sending
  // during SHUTDOWN_DELAY).
  let ready = await fetch(readyUrl)
  while (ready.status === 200 && Date.now() - stopAt < DELAY_S * 1000) {
    await sleep(50)
    ready = await fetch(readyUrl)
  }
  expect(ready.status).toBe(503)
  expect(await ready.json()).toMatchObject({ status: 'unavailable', reason: 'shutting down' })
  expect(Date.now() - stopAt).toBeLessThan(DELAY_S * 1000)

  // After the delay the listener is closed: new connections are refused, the call goes on.
  await sleep(Math.max(0, stopAt + DELAY_S * 1000 - Date.now()))
  await expect
    .poll(
      () =>
        fetch(`${base}/health`).then(
          () => 'answered',
          () => 'refused'
        ),
      {
        timeout: 5_000,
      }
    )
    .toBe('refused')
  const result = await call
  expect(JSON.stringify(result.content)).toMatch(/completed/i)

  const [code, signal] = await exited
  expect({ code, signal }).toEqual({ code: 0, signal: null })
  expect(output()).toMatch(/"event":"listener_closed","outcome":"drained"/)
  for (const pid of children) expect(alive(pid), `child ${pid} outlived the process`).toBe(false)
  await client.close().catch(() => {})
}

async function startBridgeProcess(env: Record<string, string>) {
  const dataDir = await mkdtemp(join(tmpdir(), 'shutdown-bridge-'))
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }))
  const port = await freePort()
  const child = spawn(process.execPath, ['mcp-services/src/main.ts', 'everything'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      PORT: String(port),
      DATA_DIR: dataDir,
      ALLOW_ANONYMOUS: 'true',
      LOG_FORMAT: 'json',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const output = collect(child)
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  const base = `http://127.0.0.1:${port}`
  await waitForHealth(`${base}/health`, child, output)
  return { child, base, output }
}

function childPids(pid: number | undefined): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .map((line) => Number(line.trim()))
      .filter((value) => value > 0)
  } catch {
    return []
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

function collect(child: ChildProcess): () => string {
  let output = ''
  const add = (chunk: Buffer) => {
    output += chunk.toString()
  }
  child.stdout?.on('data', add)
  child.stderr?.on('data', add)
  return () => output
}

async function waitForHealth(url: string, child: ChildProcess, output: () => string) {
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}: ${output()}`)
    try {
      if ((await fetch(url)).ok) return
    } catch {
      // not listening yet
    }
    await sleep(100)
  }
  throw new Error(`did not start: ${output()}`)
}
