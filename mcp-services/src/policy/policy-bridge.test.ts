import {
  Client as ClientV2,
  StreamableHTTPClientTransport as TransportV2,
} from '@modelcontextprotocol/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { findService, type ServiceDefinition } from '../catalog.ts'
import {
  connectClient,
  identityHeaders,
  startTestBridge,
  type TestBridge,
} from '../testing/harness.ts'
import { postModern } from '../testing/modern-client.ts'
import { openRawSession } from '../testing/raw-client.ts'
import type { MembershipDirectory } from './memberships.ts'
import { parsePolicy, type ServicePolicy } from './policy-format.ts'

const TEAM = 77
const MEMBER = '1001'
const NON_MEMBER = '1002'
const OUTSIDER = '1003'

/** The directory the bridge asks: one team with one member (a real object, not a mock). */
class OneTeamDirectory implements MembershipDirectory {
  async user(id: string) {
    const teams = id === MEMBER ? [{ id: TEAM, slug: 'ops' }] : []
    return id === OUTSIDER ? null : { organizations: [], teams }
  }
}

const policy = parsePolicy({
  services: {
    echo: {
      allow: { users: [MEMBER, NON_MEMBER] },
      tools: {
        whoami: { allow: { teams: [TEAM] } },
        echo: { scopes: ['echo:write'] },
      },
    },
  },
}).services.echo as ServicePolicy

/** The echo service with a policy in its catalog entry. */
const echo: ServiceDefinition = { ...(findService('echo') as ServiceDefinition), policy }

/** A v2 client pinned to the stateless era, as `userId` holding `scopes`. */
async function modernClient(url: string, userId: string, scopes = 'mcp') {
  const headers = { ...identityHeaders(userId), 'X-Auth-Scopes': scopes }
  const transport = new TransportV2(new URL(url), { requestInit: { headers } })
  const client = new ClientV2(
    { name: 'policy-test', version: '0' },
    { versionNegotiation: { mode: { pin: '2026-07-28' } } }
  )
  await client.connect(transport)
  return client
}

async function sessionClient(url: string, userId: string, scopes = 'mcp') {
  const { client } = await connectClient(url, userId, { headers: { 'X-Auth-Scopes': scopes } })
  return client
}

const eras = [
  ['session era (SDK 1.x)', sessionClient],
  ['stateless era (SDK 2.x, 2026-07-28)', modernClient],
] as const

describe.each(eras)('policy in the bridge, %s', (_era, connect) => {
  let bridge: TestBridge
  beforeAll(async () => {
    bridge = await startTestBridge(echo, {}, { userDirectory: new OneTeamDirectory() })
  })
  afterAll(() => bridge.close())

  it('shows and runs the team tool for a team member', async () => {
    const client = await connect(bridge.url, MEMBER, 'mcp echo:write')
    try {
      const { tools } = await client.listTools()
      expect(tools.map((tool) => tool.name).sort()).toEqual(['echo', 'whoami'])
      const whoami = await client.callTool({ name: 'whoami', arguments: {} })
      expect(whoami.structuredContent).toMatchObject({ userId: MEMBER })
      const echoed = await client.callTool({ name: 'echo', arguments: { message: 'hi' } })
      expect(echoed.content).toEqual([{ type: 'text', text: 'hi' }])
    } finally {
      await client.close()
    }
  })

  it('hides the team tool from a non-member and refuses its call, naming the team', async () => {
    const client = await connect(bridge.url, NON_MEMBER, 'mcp echo:write')
    try {
      const { tools } = await client.listTools()
      expect(tools.map((tool) => tool.name)).toEqual(['echo'])
      await expect(client.callTool({ name: 'whoami', arguments: {} })).rejects.toMatchObject({
        code: -32602,
        message: expect.stringContaining('the tool whoami is for members of team 77'),
      })
      const echoed = await client.callTool({ name: 'echo', arguments: { message: 'still' } })
      expect(echoed.content).toEqual([{ type: 'text', text: 'still' }])
    } finally {
      await client.close()
    }
  })

  it('refuses a user the service is not for', async () => {
    await expect(connect(bridge.url, OUTSIDER, 'mcp echo:write')).rejects.toThrow(
      // The v2 client reports the status only.
      /this service is for the users its policy names|denied access \(HTTP 403\)/
    )
  })

  it('asks a token without the tool scope to step up, and lists the tool anyway', async () => {
    const client = await connect(bridge.url, NON_MEMBER, 'mcp')
    try {
      const { tools } = await client.listTools()
      expect(tools.map((tool) => tool.name)).toEqual(['echo'])
      await expect(client.callTool({ name: 'echo', arguments: { message: 'x' } })).rejects.toThrow(
        /403|insufficient_scope|echo:write/
      )
    } finally {
      await client.close()
    }
  })
})

describe('policy answers on the wire', () => {
  let bridge: TestBridge
  beforeAll(async () => {
    bridge = await startTestBridge(echo, {}, { userDirectory: new OneTeamDirectory() })
  })
  afterAll(() => bridge.close())

  const expectChallenge = async (response: Response, id: number) => {
    expect(response.status).toBe(403)
    // The body answers the refused call by its id, as every refusal of a request does.
    expect(await response.json()).toMatchObject({ jsonrpc: '2.0', id, error: { code: -32000 } })
    const origin = new URL(bridge.url).origin
    expect(response.headers.get('www-authenticate')).toBe(
      'Bearer error="insufficient_scope", error_description="the tool echo needs the scope echo:write", ' +
        `scope="mcp profile echo:write", resource_metadata="${origin}/.well-known/oauth-protected-resource/mcp"`
    )
  }

  it('is a 403 naming the service, token and tool scopes (stateless era)', async () => {
    const response = await fetch(bridge.url, {
      method: 'POST',
      headers: {
        ...identityHeaders(MEMBER),
        'X-Auth-Scopes': 'mcp profile offline_access',
        'Content-Type': 'application/json',
        Accept: 'application/json, text/event-stream',
        'MCP-Protocol-Version': '2026-07-28',
        'Mcp-Method': 'tools/call',
        'Mcp-Name': 'echo',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 5,
        method: 'tools/call',
        params: {
          name: 'echo',
          arguments: { message: 'x' },
          _meta: {
            'io.modelcontextprotocol/protocolVersion': '2026-07-28',
            'io.modelcontextprotocol/clientCapabilities': {},
          },
        },
      }),
    })
    await expectChallenge(response, 5)
  })

  it('is the same 403 in a session, and the session goes on after it', async () => {
    const { client, transport } = await connectClient(bridge.url, MEMBER, {
      headers: { 'X-Auth-Scopes': 'mcp profile offline_access' },
    })
    try {
      const response = await fetch(bridge.url, {
        method: 'POST',
        headers: {
          ...identityHeaders(MEMBER),
          'X-Auth-Scopes': 'mcp profile',
          'Content-Type': 'application/json',
          Accept: 'application/json, text/event-stream',
          'Mcp-Session-Id': transport.sessionId ?? '',
          'MCP-Protocol-Version': '2025-11-25',
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 9,
          method: 'tools/call',
          params: { name: 'echo', arguments: { message: 'x' } },
        }),
      })
      await expectChallenge(response, 9)
      const whoami = await client.callTool({ name: 'whoami', arguments: {} })
      expect(whoami.structuredContent).toMatchObject({ userId: MEMBER })
    } finally {
      await client.close()
    }
  })

  it('runs nothing of a session-era batch holding a refused call', async () => {
    // Batches are of 2025-03-26 only.
    const session = await openRawSession(bridge.url, NON_MEMBER, {
      protocolVersion: '2025-03-26',
      headers: { 'X-Auth-Scopes': 'mcp echo:write' },
    })
    try {
      const response = await fetch(bridge.url, {
        method: 'POST',
        headers: session.headers,
        body: JSON.stringify([
          { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: {} } },
          { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'whoami' } },
          { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 0 } },
        ]),
      })
      expect(response.status).toBe(200)
      const answers = (await response.json()) as { id: number; error: { message: string } }[]
      expect(answers.map((answer) => [answer.id, answer.error.message])).toEqual([
        [1, 'Not run: the batch holds a refused tool call'],
        [2, 'Forbidden: the tool whoami is for members of team 77'],
      ])
    } finally {
      await fetch(bridge.url, { method: 'DELETE', headers: session.headers })
    }
  })

  it('answers a refused call in a raw stateless request with the JSON-RPC error and its id', async () => {
    const { status, json } = await postModern(
      bridge.url,
      NON_MEMBER,
      { method: 'tools/call', id: 12, params: { name: 'whoami', arguments: {} } },
      { 'Mcp-Name': 'whoami' }
    )
    expect(status).toBe(200)
    expect(json).toMatchObject({ id: 12, error: { code: -32602, data: { tool: 'whoami' } } })
  })
})

describe('a refused call sent without an id (as a notification)', () => {
  const minimal: ServiceDefinition = {
    ...(findService('echo') as ServiceDefinition),
    name: 'minimal',
    launch: { kind: 'module', path: './testing/minimal-server.ts' },
    passIdentity: false,
    policy: parsePolicy({
      services: { minimal: { tools: { pid: { allow: { teams: [TEAM] } } } } },
    }).services.minimal as ServicePolicy,
  }

  it('is not passed on to the MCP server', async () => {
    const bridge = await startTestBridge(minimal, {}, { userDirectory: new OneTeamDirectory() })
    try {
      const session = await openRawSession(bridge.url, NON_MEMBER)
      const sent = await session.post({
        jsonrpc: '2.0',
        method: 'tools/call',
        params: { name: 'pid', arguments: {} },
      })
      expect(sent.status).toBe(202)
      const heard = await session.post({
        jsonrpc: '2.0',
        id: 5,
        method: 'tools/call',
        params: { name: 'heard', arguments: {} },
      })
      const text = (await heard.text()).match(/"text":"(\[.*?\])"/)?.[1] ?? ''
      const methods = JSON.parse(text.replaceAll('\\"', '"')) as string[]
      expect(methods).toContain('notifications/initialized')
      expect(methods).not.toContain('tools/call')
    } finally {
      await bridge.close()
    }
  })
})
