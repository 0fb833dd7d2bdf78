import { createInterface } from 'node:readline'

/**
 * A stdio MCP server with no dependencies, for tests that start many children: it answers
 * `initialize`, `tools/list` and `tools/call` of its tools, `pid` and `heard` (the methods of the
 * notifications it has been sent, to show what reached it), and starts in a fraction of the time
 * an SDK-based server needs.
 */
const write = (message: object) => process.stdout.write(`${JSON.stringify(message)}\n`)
const heard: string[] = []

createInterface({ input: process.stdin }).on('line', (line) => {
  const message = JSON.parse(line) as { id?: number | string; method?: string; params?: unknown }
  if (message.method === undefined) return
  if (message.id === undefined) {
    heard.push(message.method)
    return
  }
  const answer = (result: object) => write({ jsonrpc: '2.0', id: message.id, result })
  switch (message.method) {
    case 'initialize':
      return answer({
        protocolVersion: (message.params as { protocolVersion: string }).protocolVersion,
        capabilities: { tools: {} },
        serverInfo: { name: 'minimal-fixture', version: '0.0.0' },
      })
    case 'tools/list':
      return answer({
        tools: ['pid', 'heard'].map((name) => ({ name, inputSchema: { type: 'object' } })),
      })
    case 'tools/call': {
      const asked = (message.params as { name?: unknown } | undefined)?.name
      const text = asked === 'heard' ? JSON.stringify(heard) : String(process.pid)
      return answer({ content: [{ type: 'text', text }] })
    }
    default:
      return write({
        jsonrpc: '2.0',
        id: message.id,
        error: { code: -32601, message: 'not found' },
      })
  }
})
