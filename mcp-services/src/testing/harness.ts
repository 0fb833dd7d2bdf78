import { mkdtemp, rm } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { serve } from '@hono/node-server'
import { Client, type ClientOptions } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { type Logger, pino } from 'pino'
import { type Bridge, createBridge } from '../bridge.ts'
import type { ServiceDefinition } from '../catalog.ts'
import { type BridgeConfig, parseBridgeConfig } from '../config.ts'
import { listenerOptions } from '../http-server.ts'
import type { MembershipDirectory } from '../policy/memberships.ts'

/** A bridge listening on a free loopback port, with its own data directory. */
export interface TestBridge {
  readonly url: string
  readonly bridge: Bridge
  readonly dataDir: string
  close(): Promise<void>
}

/** The test fixture server as a catalog entry. */
export const fixtureService: ServiceDefinition = {
  name: 'fixture',
  description: 'test fixture',
  enabledByDefault: false,
  requiredScopes: [],
  launch: { kind: 'module', path: './testing/fixture-server.ts' },
  args: [],
  env: {},
  perUserDirectories: [],
  passIdentity: false,
  hiddenClientCapabilities: [],
  egress: 'none',
}

export async function startTestBridge(
  service: ServiceDefinition,
  overrides: Partial<BridgeConfig> = {},
  options: {
    sharedSecret?: string
    userDirectory?: MembershipDirectory
    /** The bridge's clock (`BridgeDeps.now`); `Date.now` when absent. */
    now?: () => number
    /** Where the bridge logs; silent (or `TEST_LOG_LEVEL`) when absent. */
    logger?: Logger
  } = {}
): Promise<TestBridge> {
  const dataDir = await mkdtemp(join(tmpdir(), 'bridge-test-'))
  const config: BridgeConfig = {
    ...parseBridgeConfig({ DATA_DIR: dataDir }),
    ...overrides,
  }
  const logger = options.logger ?? pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' })
  const bridge = createBridge({
    service,
    config,
    logger,
    sharedSecret: options.sharedSecret,
    userDirectory: options.userDirectory,
    ...(options.now === undefined ? {} : { now: options.now }),
  })
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const started = serve(
      {
        fetch: bridge.app.fetch,
        port: 0,
        hostname: '127.0.0.1',
        serverOptions: listenerOptions(),
      },
      () => resolve(started)
    )
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    bridge,
    dataDir,
    async close() {
      await bridge.close()
      // Keep-alive connections (95 s) and streams a test left open would hold `close` for minutes.
      const closed = new Promise((resolve) => server.close(resolve))
      if ('closeAllConnections' in server) server.closeAllConnections()
      await closed
      await rm(dataDir, { recursive: true, force: true })
    },
  }
}

/** The identity headers the gateway would inject for `userId`. */
export function identityHeaders(userId: string): Record<string, string> {
  return {
    'X-User-Id': userId,
    'X-User-Name': `user ${userId}`,
    'X-User-Email': `${userId}@example.test`,
    'X-Client-Id': 'test-client',
    'X-Auth-Scopes': 'mcp offline_access',
  }
}

/** An official SDK client connected through the bridge as `userId`. */
export async function connectClient(
  url: string,
  userId: string,
  options: {
    sessionId?: string
    clientOptions?: ClientOptions
    /** Sent on every request besides the identity headers (e.g. the edge's shared secret). */
    headers?: Record<string, string>
  } = {}
): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { ...identityHeaders(userId), ...options.headers } },
    ...(options.sessionId === undefined ? {} : { sessionId: options.sessionId }),
  })
  const client = new Client({ name: 'bridge-test', version: '0.0.0' }, options.clientOptions)
  await client.connect(transport)
  return { client, transport }
}

/** The first text content of a tool result. */
export function textOf(result: unknown): string {
  const content = (result as { content?: Array<{ type: string; text?: string }> }).content
  const first = content?.find((item) => item.type === 'text')
  return first?.text ?? ''
}

/** Whether a process with this pid still exists. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
