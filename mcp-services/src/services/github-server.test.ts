import { fileURLToPath } from 'node:url'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FakeGitHub, startFakeGitHub } from '../../../tests/support/fake-github.ts'

const SCRIPT = fileURLToPath(new URL('./github-server.ts', import.meta.url))

/** The `github` service's server alone, over stdio, against the fake GitHub. */
describe('the github service’s server', () => {
  let github: FakeGitHub
  beforeAll(async () => {
    github = await startFakeGitHub({
      users: [
        { id: 11, login: 'alice', name: 'Alice' },
        { id: 12, login: 'bob', name: 'Bob' },
      ],
    })
    github.addRepository({ owner: 'alice', name: 'notes', description: 'public notes' })
    github.addRepository({ owner: 'alice', name: 'diary', private: true })
  })
  afterAll(() => github.close())

  async function connect(token: string | undefined, extra: Record<string, string> = {}) {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [SCRIPT],
      env: {
        GITHUB_API_URL: github.apiUrl,
        ...(token ? { MCP_GATEWAY_GITHUB_TOKEN: token } : {}),
        ...extra,
      },
      stderr: 'pipe',
    })
    let stderr = ''
    transport.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    const client = new Client({ name: 'test', version: '1.0.0' })
    await client.connect(transport)
    let closed = false
    transport.onclose = () => {
      closed = true
    }
    return { client, stderr: () => stderr, closed: () => closed }
  }

  it('calls GitHub as the user whose token it was given, and never prints the token', async () => {
    const token = github.issueToken('alice', ['read:user', 'user:email']).token
    github.clearRequests()
    const { client, stderr } = await connect(token)
    try {
      const tools = await client.listTools()
      expect(tools.tools.map((tool) => tool.name).sort()).toEqual([
        'create_issue',
        'get_issue',
        'list_repositories',
        'whoami',
      ])
      const whoami = await client.callTool({ name: 'whoami', arguments: {} })
      expect(whoami.structuredContent).toMatchObject({ login: 'alice', id: 11, name: 'Alice' })
      const repos = await client.callTool({ name: 'list_repositories', arguments: {} })
      // Without the repo scope GitHub shows public repositories only.
      expect(repos.structuredContent).toEqual({
        items: [
          {
            full_name: 'alice/notes',
            private: false,
            description: 'public notes',
            url: 'https://github.com/alice/notes',
          },
        ],
      })
      expect(github.requests.map((request) => request.headers.authorization)).toEqual([
        `Bearer ${token}`,
        `Bearer ${token}`,
      ])
      expect(stderr()).not.toContain(token)
    } finally {
      await client.close()
    }
  })

  it('opens and reads an issue when the token has the scope for it', async () => {
    const token = github.issueToken('alice', ['repo']).token
    const { client } = await connect(token)
    try {
      const created = await client.callTool({
        name: 'create_issue',
        arguments: { owner: 'alice', repo: 'diary', title: 'Hello', body: 'from MCP' },
      })
      expect(created.isError).toBeFalsy()
      const number = (created.structuredContent as { number: number }).number
      const issue = await client.callTool({
        name: 'get_issue',
        arguments: { owner: 'alice', repo: 'diary', issue_number: number },
      })
      expect(issue.structuredContent).toMatchObject({
        number,
        title: 'Hello',
        body: 'from MCP',
        author: 'alice',
        state: 'open',
      })
    } finally {
      await client.close()
    }
  })

  it('reports what GitHub refused, and keeps serving', async () => {
    const token = github.issueToken('bob', ['read:user']).token
    const { client, closed } = await connect(token)
    try {
      const refused = await client.callTool({
        name: 'get_issue',
        arguments: { owner: 'alice', repo: 'diary', issue_number: 1 },
      })
      expect(refused.isError).toBe(true)
      expect(refused.content).toEqual([{ type: 'text', text: 'GitHub answered 404: Not Found' }])
      const escaped = await client.callTool({
        name: 'get_issue',
        arguments: { owner: '../../user', repo: 'x', issue_number: 1 },
      })
      expect(escaped.isError).toBe(true)
      expect(github.requests.at(-1)?.path).toBe('/repos/..%2F..%2Fuser/x/issues/1')
      expect(closed()).toBe(false)
    } finally {
      await client.close()
    }
  })

  it('ends after answering when GitHub rejects the token, so the next child gets a fresh one', async () => {
    const token = github.issueToken('bob', ['read:user']).token
    const { client, closed } = await connect(token)
    github.revokeTokensOf('bob')
    const answer = await client.callTool({ name: 'whoami', arguments: {} })
    expect(answer.isError).toBe(true)
    expect(JSON.stringify(answer.content)).toMatch(/no longer accepts the token/)
    await expect.poll(closed, { timeout: 10_000 }).toBe(true)
  })

  it('says the gateway could not be asked when that is why it has no token', async () => {
    const { client, closed } = await connect(undefined, {
      MCP_GATEWAY_GITHUB_TOKEN_UNAVAILABLE: 'true',
    })
    const answer = await client.callTool({ name: 'whoami', arguments: {} })
    expect(answer.isError).toBe(true)
    expect(JSON.stringify(answer.content)).toMatch(/could not be asked for your GitHub token/)
    await expect.poll(closed, { timeout: 10_000 }).toBe(true)
  })

  it('ends after answering when it was started without a token', async () => {
    const { client, closed } = await connect(undefined)
    const answer = await client.callTool({ name: 'whoami', arguments: {} })
    expect(answer.isError).toBe(true)
    expect(JSON.stringify(answer.content)).toMatch(/holds no GitHub token for you/)
    await expect.poll(closed, { timeout: 10_000 }).toBe(true)
  })
})
