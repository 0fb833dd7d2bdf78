import { auth } from '@modelcontextprotocol/sdk/client/auth.js'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FakeGitHub } from '../support/fake-github.ts'
import type { GatewayProcess } from '../support/gateway-process.ts'
import { startGatewayProcess } from '../support/gateway-process.ts'
import { OCTOCAT, startGatewayWithGitHub } from '../support/gateway-with-github.ts'
import { type RedisServer, startRedisServer } from '../support/redis-server.ts'
import { HeadlessOAuthProvider } from '../support/sdk-oauth-provider.ts'

/**
 * Live tokens survive both a Redis crash and a gateway restart: the access token keeps opening
 * the MCP service, and the refresh token still refreshes.
 */
describe('live tokens across restarts', () => {
  let redis: RedisServer
  let github: FakeGitHub
  let gateway: GatewayProcess
  const env = () => ({ REDIS_URL: redis.url, ALLOWED_GITHUB_USERS: 'octocat' })
  beforeAll(async () => {
    redis = await startRedisServer()
    ;({ github, gateway } = await startGatewayWithGitHub([OCTOCAT], env()))
  })
  afterAll(async () => {
    await gateway?.stop()
    await github?.close()
    await redis?.stop()
  })

  const callWhoami = async (resource: URL, provider: HeadlessOAuthProvider) => {
    const client = new Client({ name: 'durability', version: '1.0.0' })
    const transport = new StreamableHTTPClientTransport(resource, { authProvider: provider })
    await client.connect(transport)
    try {
      return (await client.callTool({ name: 'whoami', arguments: {} })).structuredContent
    } finally {
      await transport.terminateSession().catch(() => {})
      await client.close()
    }
  }

  it('keeps access and refresh tokens usable after Redis crashes and the gateway restarts', async () => {
    const resource = new URL(`${gateway.url}/echo/mcp`)
    const provider = new HeadlessOAuthProvider({ redirectUrl: 'http://127.0.0.1:43125/callback' })
    expect(await auth(provider, { serverUrl: resource })).toBe('REDIRECT')
    expect(await auth(provider, { serverUrl: resource, authorizationCode: provider.code() })).toBe(
      'AUTHORIZED'
    )
    const issued = provider.savedTokens

    await redis.restart()
    await gateway.stop()
    gateway = await startGatewayProcess({ ...github.env, PORT: String(gateway.port), ...env() })

    expect(await callWhoami(resource, provider)).toMatchObject({ userName: 'octocat' })
    expect(provider.savedTokens?.access_token).toBe(issued?.access_token)
    expect(await auth(provider, { serverUrl: resource })).toBe('AUTHORIZED')
    expect(provider.savedTokens?.refresh_token).not.toBe(issued?.refresh_token)
    expect(await callWhoami(resource, provider)).toMatchObject({ userName: 'octocat' })
  })
})
