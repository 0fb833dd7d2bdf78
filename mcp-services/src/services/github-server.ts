import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js'
import type { CallToolResult, JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js'
import { z } from 'zod'
import { type GitHubAnswer, gitHubApi, repoPath, TokenRejectedError } from './github-api.ts'

/**
 * The `github` service: a small stdio MCP server that acts on GitHub as the signed-in user. The
 * bridge starts one per user with that user's own GitHub token in `MCP_GATEWAY_GITHUB_TOKEN` (fetched from
 * the authorization server, see docs/mcp-services.md "Acting as the user on GitHub") and the REST
 * root in `GITHUB_API_URL`.
 *
 * A token is fixed for the life of the process. When GitHub rejects it (revoked, or replaced when
 * the gateway refreshed the user's grant), or there is none, the call answers with an error and
 * the process ends after the answer: the bridge starts the user's next child with the token the
 * gateway holds then.
 */
const token = process.env.MCP_GATEWAY_GITHUB_TOKEN ?? ''
const api = gitHubApi(process.env.GITHUB_API_URL || 'https://api.github.com', token)

const server = new McpServer({ name: 'gateway-github', version: '0.1.0' })
const transport = new StdioServerTransport()
let retiring = false

const NO_TOKEN =
  process.env.MCP_GATEWAY_GITHUB_TOKEN_UNAVAILABLE === 'true'
    ? 'The gateway could not be asked for your GitHub token just now. Try again in a moment.'
    : 'The gateway holds no GitHub token for you (signed in without GitHub, or the grant ended). Sign in to the gateway again.'
const REJECTED =
  'GitHub no longer accepts the token the gateway gave this service (revoked or refreshed). Try again: the next call starts with the current one; if it fails again, sign in to the gateway again.'

/** Runs one GitHub call for a tool; a missing or rejected token ends this process after the answer. */
async function withGitHub(
  run: () => Promise<GitHubAnswer>,
  shape: (body: unknown) => unknown
): Promise<CallToolResult> {
  if (!token) return retire(NO_TOKEN)
  let answer: GitHubAnswer
  try {
    answer = await run()
  } catch (error) {
    if (error instanceof TokenRejectedError) return retire(REJECTED)
    const reason = error instanceof Error ? error.message : String(error)
    return failure(`GitHub could not be reached: ${reason}`)
  }
  if (!answer.ok) return failure(`GitHub answered ${answer.status}: ${answer.message}`)
  const result = shape(answer.body)
  return {
    content: [{ type: 'text', text: JSON.stringify(result) }],
    structuredContent: Array.isArray(result)
      ? { items: result }
      : (result as Record<string, unknown>),
  }
}

function failure(text: string): CallToolResult {
  return { isError: true, content: [{ type: 'text', text }] }
}

function retire(text: string): CallToolResult {
  retiring = true
  return failure(text)
}

type Json = Record<string, unknown>
const record = (value: unknown): Json => (value && typeof value === 'object' ? (value as Json) : {})
const loginOf = (value: unknown) => record(value).login ?? null

const repository = z.object({
  owner: z.string().min(1).max(100).describe('user or organization that owns the repository'),
  repo: z.string().min(1).max(100).describe('repository name'),
})

server.registerTool(
  'whoami',
  {
    description: 'The GitHub account this service acts as (the user signed in to the gateway)',
    annotations: { readOnlyHint: true, openWorldHint: true },
  },
  () =>
    withGitHub(
      () => api.get('/user'),
      (body) => {
        const user = record(body)
        return { login: user.login, id: user.id, name: user.name ?? null, url: user.html_url }
      }
    )
)

server.registerTool(
  'list_repositories',
  {
    description: 'Repositories the signed-in user can access, most recently updated first',
    inputSchema: {
      page: z.number().int().min(1).max(1000).default(1).describe('page number, from 1'),
      per_page: z.number().int().min(1).max(100).default(30).describe('results per page'),
    },
    annotations: { readOnlyHint: true, openWorldHint: true },
  },
  ({ page, per_page }) =>
    withGitHub(
      () => api.get(`/user/repos?sort=updated&per_page=${per_page}&page=${page}`),
      (body) =>
        (Array.isArray(body) ? body : []).map((item) => {
          const repo = record(item)
          return {
            full_name: repo.full_name,
            private: repo.private,
            description: repo.description ?? null,
            url: repo.html_url,
          }
        })
    )
)

server.registerTool(
  'get_issue',
  {
    description: 'One issue (or pull request) of a repository',
    inputSchema: {
      ...repository.shape,
      issue_number: z.number().int().min(1).describe('the issue number'),
    },
    annotations: { readOnlyHint: true, openWorldHint: true },
  },
  ({ owner, repo, issue_number }) =>
    withGitHub(
      () => api.get(`${repoPath(owner, repo)}/issues/${issue_number}`),
      (body) => {
        const issue = record(body)
        return {
          number: issue.number,
          title: issue.title,
          state: issue.state,
          author: loginOf(issue.user),
          body: issue.body ?? null,
          comments: issue.comments,
          url: issue.html_url,
        }
      }
    )
)

server.registerTool(
  'create_issue',
  {
    description: 'Opens an issue in a repository, as the signed-in user',
    inputSchema: {
      ...repository.shape,
      title: z.string().min(1).max(256).describe('the issue title'),
      body: z.string().max(65536).optional().describe('the issue text (Markdown)'),
    },
    annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: true },
  },
  ({ owner, repo, title, body }) =>
    withGitHub(
      () => api.post(`${repoPath(owner, repo)}/issues`, { title, ...(body ? { body } : {}) }),
      (created) => {
        const issue = record(created)
        return { number: issue.number, title: issue.title, url: issue.html_url }
      }
    )
)

// The answer that reports a missing or rejected token is written first, then the process ends.
const send = transport.send.bind(transport)
transport.send = async (message: JSONRPCMessage) => {
  await send(message)
  if (retiring && 'id' in message && 'result' in message) {
    await server.close()
    process.exit(0)
  }
}

await server.connect(transport)
