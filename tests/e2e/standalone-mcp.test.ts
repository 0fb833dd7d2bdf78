import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { describe, expect, it } from 'vitest'
import type { GatewayProcess } from '../support/gateway-process.ts'
import { useGatewayWithGitHub } from '../support/gateway-with-github.ts'
import { HeadlessOAuthProvider } from '../support/sdk-oauth-provider.ts'

/**
 * The whole product in one process: an MCP client with no credentials connects to a service on
 * the standalone gateway, is sent through OAuth, and then talks to the bridged stdio server,
 * which sees the identity the gateway injected.
 */
describe('standalone gateway: OAuth in front of a bridged MCP service', () => {
  let gateway: GatewayProcess
  useGatewayWithGitHub((fixture) => {
    gateway = fixture.gateway
  })

  it('answers an unauthenticated MCP request with a 401 pointing at the resource metadata', async () => {
    const response = await fetch(`${gateway.url}/echo/mcp`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        Accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: {} }),
    })
    expect(response.status).toBe(401)
    expect(response.headers.get('www-authenticate')).toBe(
      `Bearer scope="mcp", resource_metadata="${gateway.url}/.well-known/oauth-protected-resource/echo/mcp"`
    )
  })

  it('refuses a page of a foreign origin with 403 before asking for a token (DNS rebinding)', async () => {
    const post = (origin: string) =>
      fetch(`${gateway.url}/echo/mcp`, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          Accept: 'application/json, text/event-stream',
          Origin: origin,
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: {} }),
      })
    const foreign = await post('https://evil.example')
    expect(foreign.status).toBe(403)
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull()
    // The gateway's own origin is told to sign in, as any client is.
    expect((await post(new URL(gateway.url).origin)).status).toBe(401)
  })

  it('connects the SDK client through OAuth and calls whoami with the injected identity', async () => {
    const resource = new URL(`${gateway.url}/echo/mcp`)
    const provider = new HeadlessOAuthProvider({ redirectUrl: 'http://127.0.0.1:43124/callback' })
    const client = new Client({ name: 'e2e', version: '1.0.0' })

    const firstTry = new StreamableHTTPClientTransport(resource, { authProvider: provider })
    await expect(client.connect(firstTry)).rejects.toBeInstanceOf(UnauthorizedError)
    await firstTry.finishAuth(provider.code())

    const transport = new StreamableHTTPClientTransport(resource, { authProvider: provider })
    await client.connect(transport)
    try {
      const tools = await client.listTools()
      expect(tools.tools.map((tool) => tool.name).sort()).toEqual(['echo', 'whoami'])
      const echoed = await client.callTool({ name: 'echo', arguments: { message: 'hello' } })
      expect(echoed.content).toEqual([{ type: 'text', text: 'hello' }])
      const whoami = await client.callTool({ name: 'whoami', arguments: {} })
      expect(whoami.structuredContent).toEqual({
        userId: '4242',
        userName: 'octocat',
        userEmail: 'octocat@example.com',
        clientId: provider.client?.client_id,
        scopes: ['mcp'],
      })
    } finally {
      await transport.terminateSession().catch(() => {})
      await client.close()
    }
  })

  it('refuses a client without a token, whatever identity headers it sends', async () => {
    const spoofed = await fetch(`${gateway.url}/echo/mcp`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        Accept: 'application/json, text/event-stream',
        'X-User-Id': '1',
        'X-User-Name': 'admin',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: {} }),
    })
    expect(spoofed.status).toBe(401)
  })
})
