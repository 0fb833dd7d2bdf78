import {
  Client,
  type ClientOptions,
  StreamableHTTPClientTransport,
} from '@modelcontextprotocol/client'
import { identityHeaders } from './harness.ts'

/** The official v2 client pinned to the stateless revision (no fallback), through the bridge. */
export async function connectModernClient(
  url: string,
  userId: string,
  options: { clientOptions?: ClientOptions; mode?: 'auto' | { pin: string } } = {}
): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: identityHeaders(userId) },
  })
  const client = new Client(
    { name: 'bridge-test-modern', version: '0.0.0' },
    {
      ...options.clientOptions,
      versionNegotiation: { mode: options.mode ?? { pin: '2026-07-28' } },
    }
  )
  await client.connect(transport)
  return client
}

/** The `_meta` envelope a 2026-07-28 request carries. */
export function modernEnvelope(version = '2026-07-28', capabilities: object = {}) {
  return {
    'io.modelcontextprotocol/protocolVersion': version,
    'io.modelcontextprotocol/clientCapabilities': capabilities,
    'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '0' },
  }
}

export interface ModernReply {
  readonly result?: Record<string, unknown>
  readonly error?: { code: number; message: string; data?: Record<string, unknown> }
}

/** The headers a 2026-07-28 client sends with a request of `method`, as `userId` past the edge. */
export function modernHeaders(
  userId: string,
  method: string,
  extra: Record<string, string> = {}
): Record<string, string> {
  return {
    ...identityHeaders(userId),
    'Content-Type': 'application/json',
    Accept: 'application/json, text/event-stream',
    'MCP-Protocol-Version': '2026-07-28',
    'Mcp-Method': method,
    ...extra,
  }
}

/** Posts one raw 2026-07-28 request; headers default to the ones the body implies. */
export async function postModern(
  url: string,
  userId: string,
  body: { method: string; params?: Record<string, unknown>; id?: number },
  headers: Record<string, string> = {}
): Promise<{ status: number; json: ModernReply }> {
  const meta: Record<string, unknown> = { ...modernEnvelope(), ...(body.params?._meta as object) }
  const params = { ...body.params, _meta: meta }
  const response = await fetch(url, {
    method: 'POST',
    headers: modernHeaders(userId, body.method, {
      'MCP-Protocol-Version': String(meta['io.modelcontextprotocol/protocolVersion']),
      ...headers,
    }),
    body: JSON.stringify({ jsonrpc: '2.0', id: body.id ?? 1, method: body.method, params }),
  })
  const text = await response.text()
  return { status: response.status, json: text ? JSON.parse(text) : {} }
}
