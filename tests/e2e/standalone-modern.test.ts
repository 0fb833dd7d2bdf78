import {
  Client as ClientV2,
  type OAuthClientProvider as OAuthClientProviderV2,
  StreamableHTTPClientTransport as StreamableHTTPClientTransportV2,
  UnauthorizedError as UnauthorizedErrorV2,
} from '@modelcontextprotocol/client'
import { describe, expect, it } from 'vitest'
import type { GatewayProcess } from '../support/gateway-process.ts'
import { useGatewayWithGitHub } from '../support/gateway-with-github.ts'
import { HeadlessOAuthProvider } from '../support/sdk-oauth-provider.ts'

/** A tool of each shipped service and arguments that make it succeed. */
const SHIPPED: ReadonlyArray<readonly [string, string, Record<string, unknown>, RegExp]> = [
  ['echo', 'echo', { message: 'modern hello' }, /modern hello/],
  ['everything', 'echo', { message: 'modern hello' }, /modern hello/],
  ['memory', 'read_graph', {}, /entities/],
  ['filesystem', 'list_allowed_directories', {}, /Allowed directories/],
  [
    'sequential-thinking',
    'sequentialthinking',
    { thought: 'first', nextThoughtNeeded: false, thoughtNumber: 1, totalThoughts: 1 },
    /thoughtNumber/,
  ],
]

/**
 * The official v2 client pinned to protocol revision 2026-07-28 (no fallback to sessions) through
 * the standalone gateway: OAuth first, then the stateless era of every shipped service.
 */
describe('standalone gateway: the stateless protocol era through OAuth', () => {
  let gateway: GatewayProcess
  useGatewayWithGitHub(
    (fixture) => {
      gateway = fixture.gateway
    },
    {
      ALLOWED_GITHUB_USERS: 'octocat',
      MCP_EVERYTHING_ENABLED: 'true',
      MCP_MEMORY_ENABLED: 'true',
      MCP_FILESYSTEM_ENABLED: 'true',
      MCP_SEQUENTIAL_THINKING_ENABLED: 'true',
    }
  )

  /** The v2 client through OAuth to `name`'s service, in the given negotiation mode. */
  const connect = async (name: string, mode: 'auto' | { pin: string }) => {
    const resource = new URL(`${gateway.url}/${name}/mcp`)
    const headless = new HeadlessOAuthProvider({ redirectUrl: 'http://127.0.0.1:43140/callback' })
    const provider = headless as unknown as OAuthClientProviderV2
    const options = { versionNegotiation: { mode } }
    const firstTry = new StreamableHTTPClientTransportV2(resource, { authProvider: provider })
    await expect(
      new ClientV2({ name: 'modern-e2e', version: '2.0.0' }, options).connect(firstTry)
    ).rejects.toBeInstanceOf(UnauthorizedErrorV2)
    await firstTry.finishAuth(headless.lastRedirect?.searchParams ?? new URLSearchParams())

    const client = new ClientV2({ name: 'modern-e2e', version: '2.0.0' }, options)
    await client.connect(new StreamableHTTPClientTransportV2(resource, { authProvider: provider }))
    return client
  }

  it.each(SHIPPED)('lists and calls tools of %s', async (name, tool, args, expected) => {
    const client = await connect(name, { pin: '2026-07-28' })
    try {
      expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28')
      const { tools } = await client.listTools()
      expect(tools.map((entry) => entry.name)).toContain(tool)
      const result = await client.callTool({ name: tool, arguments: args })
      expect(JSON.stringify(result.content)).toMatch(expected)
      if (name === 'echo') {
        const whoami = await client.callTool({ name: 'whoami', arguments: {} })
        expect(whoami.structuredContent).toMatchObject({ userId: '4242', userName: 'octocat' })
      }
    } finally {
      await client.close()
    }
  })

  it('serves the v2 client in auto mode (it now negotiates the stateless era)', async () => {
    const client = await connect('echo', 'auto')
    try {
      expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28')
      const echoed = await client.callTool({ name: 'echo', arguments: { message: 'auto' } })
      expect(echoed.content).toEqual([{ type: 'text', text: 'auto' }])
    } finally {
      await client.close()
    }
  })
})
