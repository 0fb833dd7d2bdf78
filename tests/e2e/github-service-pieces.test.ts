import { type ChildProcess, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { connectClient } from '../../mcp-services/src/testing/harness.ts'
import type { FakeGitHub } from '../support/fake-github.ts'
import { freePort } from '../support/free-port.ts'
import type { GatewayProcess } from '../support/gateway-process.ts'
import { startGatewayWithGitHub } from '../support/gateway-with-github.ts'
import { HeadlessOAuthProvider } from '../support/sdk-oauth-provider.ts'

const ROOT = new URL('../../', import.meta.url).pathname
const SECRET = 'internal-secret-of-the-github-pieces-test-0123456789'
const CAROL = { id: 5201, login: 'carol', name: 'Carol' }

/**
 * The github service as compose runs it: a bridge process of its own that reads each user's
 * GitHub token from the authorization server's internal API (`AUTH_INTERNAL_URL` with
 * `INTERNAL_API_SECRET`), not from anything a request carries.
 */
describe('a github bridge on its own, reading tokens over the internal API', () => {
  let github: FakeGitHub
  let gateway: GatewayProcess
  let bridge: ChildProcess
  let bridgeOutput = ''
  let bridgeUrl: string
  let dataDir: string

  beforeAll(async () => {
    const internalPort = await freePort()
    ;({ github, gateway } = await startGatewayWithGitHub([CAROL], {
      ALLOWED_GITHUB_USERS: 'carol',
      INTERNAL_API_SECRET: SECRET,
      INTERNAL_PORT: String(internalPort),
      REDIS_URL: inject('redisUrl'),
      REDIS_KEY_PREFIX: `test:${randomUUID()}:`,
    }))
    dataDir = await mkdtemp(join(tmpdir(), 'github-bridge-'))
    const port = await freePort()
    bridge = spawn(process.execPath, ['mcp-services/src/main.ts', 'github'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOST: '127.0.0.1',
        PORT: String(port),
        DATA_DIR: dataDir,
        LOG_LEVEL: 'debug',
        LOG_FORMAT: 'json',
        GITHUB_API_URL: github.apiUrl,
        AUTH_INTERNAL_URL: `http://127.0.0.1:${internalPort}`,
        INTERNAL_API_SECRET: SECRET,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const collect = (chunk: Buffer) => {
      bridgeOutput += chunk.toString()
    }
    bridge.stdout?.on('data', collect)
    bridge.stderr?.on('data', collect)
    bridgeUrl = `http://127.0.0.1:${port}/mcp`
    await waitForHealth(`http://127.0.0.1:${port}/health`, () => bridgeOutput)
  })
  afterAll(async () => {
    if (bridge && bridge.exitCode === null) {
      bridge.kill('SIGTERM')
      await once(bridge, 'exit')
    }
    await gateway?.stop()
    await github?.close()
    if (dataDir) await rm(dataDir, { recursive: true, force: true })
  })

  it('calls GitHub with the token the gateway keeps for the user the edge named', async () => {
    await signIn('carol')
    const [token] = github.tokensOf('carol').map((kept) => kept.token)
    expect(token).toMatch(/^gho_/)

    github.clearRequests()
    const { client, transport } = await connectClient(bridgeUrl, String(CAROL.id))
    try {
      const whoami = await client.callTool({ name: 'whoami', arguments: {} })
      expect(whoami.structuredContent).toMatchObject({ login: 'carol', id: CAROL.id })
    } finally {
      await transport.terminateSession().catch(() => {})
      await client.close()
    }
    const calls = github.requests.filter((request) => request.path === '/user')
    expect(calls.map((request) => request.headers.authorization)).toEqual([`Bearer ${token}`])
    expect(bridgeOutput).toContain('session started')
    for (const output of [bridgeOutput, gateway.output()]) {
      expect(output).not.toContain(token)
      expect(output).not.toContain(SECRET)
    }
  })

  it('gives a user the gateway keeps no grant for a child without a token', async () => {
    const { client } = await connectClient(bridgeUrl, '999999')
    try {
      const whoami = await client.callTool({ name: 'whoami', arguments: {} })
      expect(whoami.isError).toBe(true)
      expect(JSON.stringify(whoami.content)).toMatch(/holds no GitHub token for you/)
    } finally {
      // The child ended after answering, and the session with it.
      await client.close()
    }
  })

  /** Signs `login` in at the standalone gateway (through its echo service): the grant is kept. */
  async function signIn(login: string): Promise<void> {
    github.setNextLogin(login)
    const resource = new URL(`${gateway.url}/echo/mcp`)
    const provider = new HeadlessOAuthProvider({ redirectUrl: 'http://127.0.0.1:43126/callback' })
    const client = new Client({ name: 'sign-in', version: '1.0.0' })
    const transport = new StreamableHTTPClientTransport(resource, { authProvider: provider })
    await expect(client.connect(transport)).rejects.toBeInstanceOf(UnauthorizedError)
    await transport.finishAuth(provider.code())
    await client.close()
  }
})

async function waitForHealth(url: string, output: () => string): Promise<void> {
  const deadline = Date.now() + 20_000
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url)).ok) return
    } catch {
      // not listening yet
    }
    await sleep(100)
  }
  throw new Error(`the bridge did not start: ${output()}`)
}
