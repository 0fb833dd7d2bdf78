import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js'
import { registerFixturePrompts } from './conformance-fixtures/prompts.ts'
import { registerFixtureResources } from './conformance-fixtures/resources.ts'
import { registerStatelessHooks } from './conformance-fixtures/stateless-hooks.ts'
import { registerFixtureTools } from './conformance-fixtures/tools.ts'

/**
 * The `conformance` service: a stdio MCP server with the fixtures the MCP conformance suite's
 * server scenarios call by name (`test_simple_text`, `test://static-text`, `test_simple_prompt`,
 * ...), so every scenario runs through the bridge rather than against the suite's own HTTP
 * server. It holds no data and serves no one else: the catalog keeps it disabled by default.
 * Its tools also exercise what crosses the bridge from the child: log and progress
 * notifications while a call runs, and sampling and elicitation requests back to the client.
 * The 2026-07-28 scenarios' diagnostic hooks (input-required tools, list mutations) are here too.
 */
const server = new McpServer(
  { name: 'gateway-conformance-fixtures', version: '0.1.0' },
  { capabilities: { logging: {} } }
)

registerFixtureTools(server)
registerFixtureResources(server)
registerFixturePrompts(server)
registerStatelessHooks(server)

await server.connect(new StdioServerTransport())
