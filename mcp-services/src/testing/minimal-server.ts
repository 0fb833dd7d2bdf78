import { createInterface } from 'node:readline'

/**
 * A stdio MCP server with no dependencies, for tests that start many children: it answers
 * `initialize`, `tools/list` and `tools/call` of its one tool, `pid`, and starts in a fraction of
 * the time an SDK-based server needs.
 */
const write = (message: object) => process.stdout.write(`${JSON.stringify(message)}\n`)

createInterface({ input: process.stdin }).on('line', (line) => {
  const message = JSON.parse(line) as { id?: number | string; method?: string; params?: unknown }
  if (message.id === undefined || message.method === undefined) return
  const answer = (result: object) => write({ jsonrpc: '2.0', id: message.id, result })
  switch (message.method) {
    case 'initialize':
      return answer({
        protocolVersion: (message.params as { protocolVersion: string }).protocolVersion,
        capabilities: { tools: {} },
        serverInfo: { name: 'minimal-fixture', version: '0.0.0' },
      })
    case 'tools/list':
      return answer({ tools: [{ name: 'pid', inputSchema: { type: 'object' } }] })
    case 'tools/call':
      return answer({ content: [{ type: 'text', text: String(process.pid) }] })
    default:
      return write({
        jsonrpc: '2.0',
        id: message.id,
        error: { code: -32601, message: 'not found' },
      })
  }
})
