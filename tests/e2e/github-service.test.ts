import { randomUUID } from 'node:crypto'
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import type { FakeGitHub, FakeGitHubUserInput, FakeRepository } from '../support/fake-github.ts'
import type { GatewayProcess } from '../support/gateway-process.ts'
import { startGatewayWithGitHub } from '../support/gateway-with-github.ts'
import { HeadlessOAuthProvider } from '../support/sdk-oauth-provider.ts'

const ALICE: FakeGitHubUserInput = { id: 5101, login: 'alice', name: 'Alice' }
const BOB: FakeGitHubUserInput = { id: 5102, login: 'bob', name: 'Bob' }
/** The User-Agent of the github service's own calls (the gateway's differ). */
const SERVICE_AGENT = 'mcp-oauth-gateway-github-service'

/**
 * The `github` service through the standalone gateway, with OAuth, the fake GitHub and real
 * Redis: each user's tool calls reach GitHub with that user's own token, which the bridge got
 * from the authorization server, and no log line of the gateway or the bridge holds a token.
 */
describe('standalone gateway: a service acting as the user on GitHub', () => {
  let github: FakeGitHub
  let gateway: GatewayProcess
  let aliceNotes: FakeRepository
  beforeAll(async () => {
    ;({ github, gateway } = await startGatewayWithGitHub([ALICE, BOB], {
      ALLOWED_GITHUB_USERS: 'alice,bob',
      MCP_GITHUB_ENABLED: 'true',
      // Opening an issue needs public_repo, which the gateway asks for only when told.
      GITHUB_EXTRA_SCOPES: 'public_repo',
      REDIS_URL: inject('redisUrl'),
      REDIS_KEY_PREFIX: `test:${randomUUID()}:`,
      LOG_LEVEL: 'debug',
    }))
    aliceNotes = github.addRepository({ owner: 'alice', name: 'notes' })
    github.addRepository({ owner: 'bob', name: 'tools' })
  })
  afterAll(async () => {
    await gateway?.stop()
    await github?.close()
  })

  /** Signs `login` in (a browser of their own) and connects an MCP client to the service. */
  async function connectAs(login: string): Promise<{ client: Client; close: () => Promise<void> }> {
    github.setNextLogin(login)
    const resource = new URL(`${gateway.url}/github/mcp`)
    const provider = new HeadlessOAuthProvider({ redirectUrl: 'http://127.0.0.1:43125/callback' })
    const client = new Client({ name: `e2e-${login}`, version: '1.0.0' })
    const firstTry = new StreamableHTTPClientTransport(resource, { authProvider: provider })
    await expect(client.connect(firstTry)).rejects.toBeInstanceOf(UnauthorizedError)
    await firstTry.finishAuth(provider.code())
    const transport = new StreamableHTTPClientTransport(resource, { authProvider: provider })
    await client.connect(transport)
    return {
      client,
      close: async () => {
        await transport.terminateSession().catch(() => {})
        await client.close()
      },
    }
  }

  /** The Authorization headers of the service's calls to GitHub's `path` so far. */
  const serviceCalls = (path: string) =>
    github.requests
      .filter((request) => request.headers['user-agent'] === SERVICE_AGENT)
      .filter((request) => request.path === path)
      .map((request) => request.headers.authorization)

  it('calls GitHub with each signed-in user’s own token, and logs neither', async () => {
    const alice = await connectAs('alice')
    const bob = await connectAs('bob')
    try {
      const [aliceToken] = github.tokensOf('alice').map((token) => token.token)
      const [bobToken] = github.tokensOf('bob').map((token) => token.token)
      expect(aliceToken).toMatch(/^gho_/)
      expect(bobToken).toMatch(/^gho_/)
      expect(aliceToken).not.toBe(bobToken)

      const tools = await alice.client.listTools()
      expect(tools.tools.map((tool) => tool.name).sort()).toEqual([
        'create_issue',
        'get_issue',
        'list_repositories',
        'whoami',
      ])
      const aliceWhoami = await alice.client.callTool({ name: 'whoami', arguments: {} })
      expect(aliceWhoami.structuredContent).toMatchObject({ login: 'alice', id: 5101 })
      const bobWhoami = await bob.client.callTool({ name: 'whoami', arguments: {} })
      expect(bobWhoami.structuredContent).toMatchObject({ login: 'bob', id: 5102 })
      const bobRepos = await bob.client.callTool({ name: 'list_repositories', arguments: {} })
      expect(bobRepos.structuredContent).toMatchObject({ items: [{ full_name: 'bob/tools' }] })

      const opened = await alice.client.callTool({
        name: 'create_issue',
        arguments: { owner: 'alice', repo: 'notes', title: 'From the gateway' },
      })
      expect(opened.isError).toBeFalsy()
      expect(aliceNotes.issues.map((issue) => issue.author.login)).toEqual(['alice'])

      expect(serviceCalls('/user')).toEqual([`Bearer ${aliceToken}`, `Bearer ${bobToken}`])
      expect(serviceCalls('/user/repos')).toEqual([`Bearer ${bobToken}`])
      expect(serviceCalls('/repos/alice/notes/issues')).toEqual([`Bearer ${aliceToken}`])

      // Everything the gateway and its bridge wrote, at debug level, stdout and stderr.
      const logs = gateway.output()
      expect(logs).toMatch(/pooled child started|session started/)
      expect(logs).not.toContain(aliceToken)
      expect(logs).not.toContain(bobToken)
    } finally {
      await alice.close()
      await bob.close()
    }
  })
})
