import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  Client as ClientV2,
  type OAuthClientProvider as OAuthClientProviderV2,
  StreamableHTTPClientTransport as TransportV2,
  UnauthorizedError as UnauthorizedErrorV2,
} from '@modelcontextprotocol/client'
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { decodeJwt } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FakeGitHub, startFakeGitHub } from '../support/fake-github.ts'
import { freePort } from '../support/free-port.ts'
import { type GatewayProcess, startGatewayProcess } from '../support/gateway-process.ts'
import { OCTOCAT } from '../support/gateway-with-github.ts'
import { HeadlessOAuthProvider } from '../support/sdk-oauth-provider.ts'

const HUBOT = { id: 4343, login: 'hubot', name: 'Hubot', email: 'hubot@example.com' }
const REDIRECT = 'http://127.0.0.1:43150/callback'

/**
 * Policy through the real standalone gateway, with the official clients of both protocol eras:
 * the echo service's `whoami` is for one team (octocat is in it, hubot is not) and needs the
 * scope `echo:whoami`, which nobody gets by default; `echo` is for everyone. A member's first
 * call of `whoami` is answered with the step-up challenge, the client re-authorizes at the
 * gateway with the wider scope and the call succeeds; the non-member never sees the tool.
 */
describe('policy and step-up through the standalone gateway', () => {
  let github: FakeGitHub
  let gateway: GatewayProcess
  let policyDir: string
  let team: number

  beforeAll(async () => {
    const port = await freePort()
    github = await startFakeGitHub({
      callbackUrl: `http://localhost:${port}/callback`,
      users: [{ ...OCTOCAT, teams: { 'acme/ops': 'active' } }, HUBOT],
    })
    // The team's numeric id, as GitHub gives it to its members.
    const { token } = github.issueToken('octocat')
    const teams = (await (
      await fetch(`${github.env.GITHUB_API_URL}/user/teams`, {
        headers: { Authorization: `Bearer ${token}` },
      })
    ).json()) as { id: number }[]
    team = teams[0]?.id ?? 0
    policyDir = await mkdtemp(join(tmpdir(), 'policy-e2e-'))
    const policyFile = join(policyDir, 'policy.json')
    const policy = {
      services: {
        echo: {
          allow: { users: [OCTOCAT.id, HUBOT.id] },
          tools: { whoami: { allow: { teams: [team] }, scopes: ['echo:whoami'] } },
        },
      },
    }
    await writeFile(policyFile, JSON.stringify(policy))
    gateway = await startGatewayProcess({
      ...github.env,
      PORT: String(port),
      ALLOWED_GITHUB_USERS: 'octocat,hubot',
      MCP_POLICY_FILE: policyFile,
    })
  })
  afterAll(async () => {
    await gateway?.stop()
    await github?.close()
    if (policyDir) await rm(policyDir, { recursive: true, force: true })
  })

  const resource = () => new URL(`${gateway.url}/echo/mcp`)

  it('offers the tool scope at the authorization server, not in the resource metadata', async () => {
    const metadata = (url: string) =>
      fetch(url).then((response) => response.json() as Promise<{ scopes_supported: string[] }>)
    const server = await metadata(`${gateway.url}/.well-known/oauth-authorization-server`)
    expect(server.scopes_supported).toEqual(['mcp', 'echo:whoami', 'offline_access'])
    const prm = await metadata(`${gateway.url}/.well-known/oauth-protected-resource/echo/mcp`)
    expect(prm.scopes_supported).toEqual(['mcp'])
  })

  describe('session era (SDK 1.x client)', () => {
    /** Signs `login` in through OAuth; no refresh token (SDK 1.x would refresh instead of step up). */
    const connect = async (login: string, grantTypes = ['authorization_code']) => {
      github.setNextLogin(login)
      const provider = new HeadlessOAuthProvider({
        redirectUrl: REDIRECT,
        metadata: { grant_types: grantTypes },
      })
      const client = new Client({ name: 'policy-e2e', version: '1.0.0' })
      const firstTry = new StreamableHTTPClientTransport(resource(), { authProvider: provider })
      await expect(client.connect(firstTry)).rejects.toBeInstanceOf(UnauthorizedError)
      await firstTry.finishAuth(provider.code())
      const transport = new StreamableHTTPClientTransport(resource(), { authProvider: provider })
      await client.connect(transport)
      return { client, transport, provider }
    }

    it('a team member steps up for the team tool and then calls it', async () => {
      const { client, transport, provider } = await connect('octocat')
      try {
        const { tools } = await client.listTools()
        expect(tools.map((tool) => tool.name).sort()).toEqual(['echo', 'whoami'])
        const echoed = await client.callTool({ name: 'echo', arguments: { message: 'hi' } })
        expect(echoed.content).toEqual([{ type: 'text', text: 'hi' }])

        await expect(client.callTool({ name: 'whoami', arguments: {} })).rejects.toBeInstanceOf(
          UnauthorizedError
        )
        const stepUp = provider.authorizationUrls.at(-1) as URL
        expect(stepUp.searchParams.get('scope')).toBe('mcp echo:whoami')
        await transport.finishAuth(provider.code())
        expect(decodeJwt(provider.savedTokens?.access_token ?? '').scope).toBe('mcp echo:whoami')

        // The bridge checked the new token's scopes; the child keeps the identity its session
        // started with (`MCP_GATEWAY_AUTH_SCOPES` is set when it is spawned).
        const whoami = await client.callTool({ name: 'whoami', arguments: {} })
        expect(whoami.structuredContent).toMatchObject({ userId: String(OCTOCAT.id) })
      } finally {
        await transport.terminateSession().catch(() => {})
        await client.close()
      }
    })

    it('SDK 1.x holding a refresh token refreshes instead, and gives up (docs/policy.md)', async () => {
      const grants = ['authorization_code', 'refresh_token']
      const { client, transport, provider } = await connect('octocat', grants)
      try {
        const authorizations = provider.authorizationUrls.length
        await expect(client.callTool({ name: 'whoami', arguments: {} })).rejects.toThrow(
          'Server returned 403 after trying upscoping'
        )
        expect(provider.authorizationUrls).toHaveLength(authorizations)
      } finally {
        await transport.terminateSession().catch(() => {})
        await client.close()
      }
    })

    it('a non-member sees only the open tool and is refused the team tool', async () => {
      const { client, transport } = await connect('hubot')
      try {
        const { tools } = await client.listTools()
        expect(tools.map((tool) => tool.name)).toEqual(['echo'])
        const echoed = await client.callTool({ name: 'echo', arguments: { message: 'hi' } })
        expect(echoed.content).toEqual([{ type: 'text', text: 'hi' }])
        await expect(client.callTool({ name: 'whoami', arguments: {} })).rejects.toThrow(
          `the tool whoami is for members of team ${team}`
        )
      } finally {
        await transport.terminateSession().catch(() => {})
        await client.close()
      }
    })
  })

  describe('stateless era (SDK 2.x client, 2026-07-28)', () => {
    const options = { versionNegotiation: { mode: { pin: '2026-07-28' } } } as const
    const connect = async (login: string) => {
      github.setNextLogin(login)
      const headless = new HeadlessOAuthProvider({ redirectUrl: REDIRECT })
      const provider = headless as unknown as OAuthClientProviderV2
      const firstTry = new TransportV2(resource(), { authProvider: provider })
      await expect(
        new ClientV2({ name: 'policy-e2e', version: '2.0.0' }, options).connect(firstTry)
      ).rejects.toBeInstanceOf(UnauthorizedErrorV2)
      await firstTry.finishAuth(headless.lastRedirect?.searchParams ?? new URLSearchParams())
      const transport = new TransportV2(resource(), { authProvider: provider })
      const client = new ClientV2({ name: 'policy-e2e', version: '2.0.0' }, options)
      await client.connect(transport)
      return { client, transport, headless }
    }

    it('a team member steps up for the team tool and then calls it', async () => {
      const { client, transport, headless } = await connect('octocat')
      try {
        expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28')
        const { tools } = await client.listTools()
        expect(tools.map((tool) => tool.name).sort()).toEqual(['echo', 'whoami'])

        // The v2 client re-authorizes even though it holds a refresh token: the scope is wider.
        expect(headless.savedTokens?.refresh_token).toBeTruthy()
        await expect(client.callTool({ name: 'whoami', arguments: {} })).rejects.toBeInstanceOf(
          UnauthorizedErrorV2
        )
        const stepUp = headless.authorizationUrls.at(-1) as URL
        // It asks for the union of what it has and what the challenge names (+ offline_access).
        expect(stepUp.searchParams.get('scope')?.split(' ')).toEqual(
          expect.arrayContaining(['mcp', 'echo:whoami'])
        )
        await transport.finishAuth(headless.lastRedirect?.searchParams ?? new URLSearchParams())

        const whoami = await client.callTool({ name: 'whoami', arguments: {} })
        expect(whoami.structuredContent).toMatchObject({ userId: String(OCTOCAT.id) })
        expect((whoami.structuredContent as { scopes: string[] }).scopes).toContain('echo:whoami')
      } finally {
        await client.close()
      }
    })

    it('a non-member sees only the open tool and is refused the team tool', async () => {
      const { client } = await connect('hubot')
      try {
        const { tools } = await client.listTools()
        expect(tools.map((tool) => tool.name)).toEqual(['echo'])
        const echoed = await client.callTool({ name: 'echo', arguments: { message: 'hi' } })
        expect(echoed.content).toEqual([{ type: 'text', text: 'hi' }])
        await expect(client.callTool({ name: 'whoami', arguments: {} })).rejects.toThrow(
          `the tool whoami is for members of team ${team}`
        )
      } finally {
        await client.close()
      }
    })
  })
})
