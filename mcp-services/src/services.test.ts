import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  CreateMessageRequestSchema,
  ListRootsRequestSchema,
} from '@modelcontextprotocol/sdk/types.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { findService, type ServiceDefinition } from './catalog.ts'
import { connectClient, startTestBridge, type TestBridge, textOf } from './testing/harness.ts'

function service(name: string): ServiceDefinition {
  const found = findService(name)
  if (!found) throw new Error(`no service ${name} in the catalog`)
  return found
}

describe('echo service', () => {
  let bridge: TestBridge
  beforeAll(async () => {
    bridge = await startTestBridge(service('echo'))
  })
  afterAll(() => bridge.close())

  it('echoes and shows the identity the gateway injected', async () => {
    const { client, transport } = await connectClient(bridge.url, '4242')
    const { tools } = await client.listTools()
    expect(tools.map((tool) => tool.name).sort()).toEqual(['echo', 'whoami'])
    expect(textOf(await client.callTool({ name: 'echo', arguments: { message: 'hi' } }))).toBe('hi')
    const whoami = await client.callTool({ name: 'whoami' })
    expect(whoami.structuredContent).toEqual({
      userId: '4242',
      userName: 'user 4242',
      userEmail: '4242@example.test',
      clientId: 'test-client',
      scopes: ['mcp', 'offline_access'],
    })
    await transport.terminateSession()
  })
})

describe('everything service', () => {
  let bridge: TestBridge
  beforeAll(async () => {
    bridge = await startTestBridge(service('everything'))
  })
  afterAll(() => bridge.close())

  it('delivers progress notifications of a tool call', async () => {
    const { client, transport } = await connectClient(bridge.url, 'alice')
    const { tools } = await client.listTools()
    expect(tools.length).toBeGreaterThan(5)
    const progress: number[] = []
    const result = await client.callTool(
      { name: 'trigger-long-running-operation', arguments: { duration: 0.3, steps: 3 } },
      undefined,
      { onprogress: (update) => progress.push(update.progress) }
    )
    expect(textOf(result)).toMatch(/completed/)
    expect(progress).toEqual([1, 2, 3])
    await transport.terminateSession()
  })

  it('carries a sampling request to the client and its answer back', async () => {
    const { client, transport } = await connectClient(bridge.url, 'alice', {
      clientOptions: { capabilities: { sampling: {} } },
    })
    const prompts: string[] = []
    client.setRequestHandler(CreateMessageRequestSchema, (request) => {
      const content = request.params.messages[0]?.content
      prompts.push(content && 'text' in content ? String(content.text) : '')
      return {
        model: 'test-model',
        role: 'assistant',
        content: { type: 'text', text: 'sampled answer' },
      }
    })
    const result = await client.callTool({
      name: 'trigger-sampling-request',
      arguments: { prompt: 'ping', maxTokens: 5 },
    })
    expect(prompts[0]).toMatch(/ping/)
    expect(textOf(result)).toMatch(/sampled answer/)
    await transport.terminateSession()
  })

  it('refuses to fetch a URL from inside the deployment, and still compresses data: URLs', async () => {
    // Stands for an internal-only endpoint next to the bridge (Redis, auth's port, a metadata IP).
    let hits = 0
    const internal: Server = createServer((_request, response) => {
      hits += 1
      response.end('internal secret')
    })
    await new Promise<void>((resolve) => internal.listen(0, '127.0.0.1', resolve))
    const { port } = internal.address() as AddressInfo
    const { client, transport } = await connectClient(bridge.url, 'alice')
    try {
      for (const url of [`http://127.0.0.1:${port}/`, `http://localhost:${port}/admin`]) {
        const refused = await client.callTool({
          name: 'gzip-file-as-resource',
          arguments: { name: 'x.gz', data: url, outputType: 'resource' },
        })
        expect(refused.isError, url).toBe(true)
        expect(textOf(refused)).toMatch(/not in the allowed domains list/)
      }
      expect(hits).toBe(0)
      const local = await client.callTool({
        name: 'gzip-file-as-resource',
        arguments: { name: 'x.gz', data: 'data:text/plain,hello', outputType: 'resource' },
      })
      expect(local.isError).toBeFalsy()
    } finally {
      await transport.terminateSession()
      await new Promise((resolve) => internal.close(resolve))
    }
  })
})

describe('memory service', () => {
  let bridge: TestBridge
  beforeAll(async () => {
    bridge = await startTestBridge(service('memory'))
  })
  afterAll(() => bridge.close())

  it('keeps each user in a graph of their own', async () => {
    const alice = await connectClient(bridge.url, 'alice')
    const bob = await connectClient(bridge.url, 'bob')
    await alice.client.callTool({
      name: 'create_entities',
      arguments: {
        entities: [{ name: 'secret-of-alice', entityType: 'note', observations: ['hers'] }],
      },
    })
    expect(textOf(await bob.client.callTool({ name: 'read_graph' }))).not.toMatch(/secret-of-alice/)
    // A new session of Alice's sees her data again: it is kept per user, not per session.
    const aliceAgain = await connectClient(bridge.url, 'alice')
    expect(textOf(await aliceAgain.client.callTool({ name: 'read_graph' }))).toMatch(
      /secret-of-alice/
    )
    for (const { transport } of [alice, bob, aliceAgain]) await transport.terminateSession()
  })
})

describe('filesystem service', () => {
  let bridge: TestBridge
  beforeAll(async () => {
    bridge = await startTestBridge(service('filesystem'))
  })
  afterAll(() => bridge.close())

  it('confines each user to their directory, even when the client offers roots', async () => {
    const alice = await connectClient(bridge.url, 'alice', {
      clientOptions: { capabilities: { roots: { listChanged: true } } },
    })
    let rootsAsked = false
    alice.client.setRequestHandler(ListRootsRequestSchema, () => {
      rootsAsked = true
      return { roots: [{ uri: 'file:///', name: 'everything' }] }
    })
    // The server asks for roots right after initialization when the client offers them.
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(rootsAsked).toBe(false)
    const allowed = textOf(await alice.client.callTool({ name: 'list_allowed_directories' }))
    expect(allowed).toContain(`${bridge.dataDir}/filesystem/alice`)
    expect(allowed).not.toMatch(/^\/$/m)
    await alice.client.callTool({
      name: 'write_file',
      arguments: { path: `${bridge.dataDir}/filesystem/alice/note.txt`, content: 'alice only' },
    })
    const bob = await connectClient(bridge.url, 'bob')
    const denied = await bob.client.callTool({
      name: 'read_text_file',
      arguments: { path: `${bridge.dataDir}/filesystem/alice/note.txt` },
    })
    expect(denied.isError).toBe(true)
    for (const { transport } of [alice, bob]) await transport.terminateSession()
  })
})

describe('sequential-thinking service', () => {
  let bridge: TestBridge
  beforeAll(async () => {
    bridge = await startTestBridge(service('sequential-thinking'))
  })
  afterAll(() => bridge.close())

  it('records a thought', async () => {
    const { client, transport } = await connectClient(bridge.url, 'alice')
    const { tools } = await client.listTools()
    expect(tools.map((tool) => tool.name)).toContain('sequentialthinking')
    const result = await client.callTool({
      name: 'sequentialthinking',
      arguments: { thought: 'first', nextThoughtNeeded: false, thoughtNumber: 1, totalThoughts: 1 },
    })
    expect(textOf(result)).toMatch(/thoughtNumber/)
    await transport.terminateSession()
  })
})

describe('conformance service', () => {
  let bridge: TestBridge
  beforeAll(async () => {
    bridge = await startTestBridge(service('conformance'))
  })
  afterAll(() => bridge.close())

  // The suite checks these fixtures' names and shapes (tests/bridge/conformance.test.ts); this
  // checks what it does not look at.
  it('returns media that decodes, and refuses what the client or the server lacks', async () => {
    const { client, transport } = await connectClient(bridge.url, 'alice')
    const media = async (name: string) => {
      const result = await client.callTool({ name })
      const [item] = result.content as Array<{ data: string }>
      return Buffer.from(item?.data ?? '', 'base64')
    }
    const png = await media('test_image_content')
    expect(png.subarray(1, 4).toString('ascii')).toBe('PNG')
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([1, 1]) // IHDR width, height
    const wav = await media('test_audio_content')
    expect([wav.subarray(0, 4), wav.subarray(8, 12)].map(String)).toEqual(['RIFF', 'WAVE'])
    expect(wav.readUInt32LE(4)).toBe(wav.length - 8)

    // This client declared neither sampling nor elicitation.
    const sampling = await client.callTool({ name: 'test_sampling', arguments: { prompt: 'hi' } })
    expect(sampling.isError).toBe(true)
    expect(textOf(sampling)).toMatch(/does not support sampling/)
    const elicitation = await client.callTool({
      name: 'test_elicitation',
      arguments: { message: 'hi' },
    })
    expect(elicitation.isError).toBe(true)
    expect(textOf(elicitation)).toMatch(/does not support form elicitation/)
    await expect(client.subscribeResource({ uri: 'test://no-such-resource' })).rejects.toThrow(
      /Resource not found/
    )
    await transport.terminateSession()
  })
})
