import { existsSync } from 'node:fs'
import { chown, mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SETPRIV } from '../../mcp-services/src/child-user.ts'
import type { FakeGitHub } from '../support/fake-github.ts'
import type { GatewayProcess } from '../support/gateway-process.ts'
import { OCTOCAT, startGatewayWithGitHub } from '../support/gateway-with-github.ts'
import { HeadlessOAuthProvider } from '../support/sdk-oauth-provider.ts'

/** Starting children as other users needs root and util-linux's setpriv. */
const canSwitch = process.getuid?.() === 0 && existsSync(SETPRIV)

/** The real uid of each child process of `pid`, from `/proc`. */
async function childUids(pid: number): Promise<number[]> {
  const uids: number[] = []
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const status = await readFile(`/proc/${entry}/status`, 'utf8').catch(() => '')
    if (/^PPid:\s+(\d+)$/m.exec(status)?.[1] !== String(pid)) continue
    uids.push(Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]))
  }
  return uids.sort((a, b) => a - b)
}

/**
 * Standalone mode mounts every service in one process: the servers of different services
 * without per-user data must not get one id of CHILD_UID_RANGE, and a service with per-user
 * data runs as CHILD_USER, which owns it.
 */
describe.runIf(canSwitch)(
  'standalone gateway: children under CHILD_USER and CHILD_UID_RANGE',
  () => {
    let github: FakeGitHub
    let gateway: GatewayProcess
    let dataDir: string
    beforeAll(async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'standalone-child-users-'))
      await chown(dataDir, 65534, 65534)
      ;({ github, gateway } = await startGatewayWithGitHub([OCTOCAT], {
        ALLOWED_GITHUB_USERS: 'octocat',
        MCP_SEQUENTIAL_THINKING_ENABLED: 'true',
        MCP_MEMORY_ENABLED: 'true',
        CHILD_USER: '65534:65534',
        CHILD_UID_RANGE: '300000-300999',
        DATA_DIR: dataDir,
      }))
    })
    afterAll(async () => {
      await gateway?.stop()
      await github?.close()
      await rm(dataDir, { recursive: true, force: true })
    })

    /** A session-era SDK client through OAuth to `name`'s service, left open. */
    const connect = async (name: string) => {
      const resource = new URL(`${gateway.url}/${name}/mcp`)
      const provider = new HeadlessOAuthProvider({ redirectUrl: 'http://127.0.0.1:43150/callback' })
      const firstTry = new StreamableHTTPClientTransport(resource, { authProvider: provider })
      await expect(
        new Client({ name: 'child-users', version: '1.0.0' }).connect(firstTry)
      ).rejects.toBeInstanceOf(UnauthorizedError)
      await firstTry.finishAuth(provider.code())
      const client = new Client({ name: 'child-users', version: '1.0.0' })
      await client.connect(new StreamableHTTPClientTransport(resource, { authProvider: provider }))
      return client
    }

    it('gives the servers of two services without data two ids, and memory CHILD_USER', async () => {
      const clients = [await connect('echo'), await connect('sequential-thinking')]
      clients.push(await connect('memory'))
      try {
        expect(await childUids(gateway.child.pid ?? -1)).toEqual([65534, 300000, 300001])
      } finally {
        await Promise.all(clients.map((client) => client.close()))
      }
    })
  }
)
