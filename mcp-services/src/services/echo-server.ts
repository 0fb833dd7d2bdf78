import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js'
import { z } from 'zod'

/**
 * The `echo` service: a small stdio MCP server that repeats what it is sent and, with `whoami`,
 * shows the identity the gateway injected for the session's user (the bridge passes it as
 * `MCP_GATEWAY_*` environment variables, see `identity.ts`). Useful to check a deployment end to
 * end.
 */
const server = new McpServer({ name: 'gateway-echo', version: '0.1.0' })

server.registerTool(
  'echo',
  {
    description: 'Returns the message it is given',
    inputSchema: { message: z.string().describe('text to send back') },
  },
  ({ message }) => ({ content: [{ type: 'text', text: message }] })
)

server.registerTool(
  'whoami',
  {
    description: 'Shows the identity the gateway attached to this session',
    outputSchema: {
      userId: z.string(),
      userName: z.string(),
      userEmail: z.string(),
      clientId: z.string(),
      scopes: z.array(z.string()),
    },
  },
  () => {
    const env = process.env
    const identity = {
      userId: env.MCP_GATEWAY_USER_ID ?? '',
      userName: env.MCP_GATEWAY_USER_NAME ?? '',
      userEmail: env.MCP_GATEWAY_USER_EMAIL ?? '',
      clientId: env.MCP_GATEWAY_CLIENT_ID ?? '',
      scopes: (env.MCP_GATEWAY_AUTH_SCOPES ?? '').split(' ').filter(Boolean),
    }
    return {
      content: [{ type: 'text', text: JSON.stringify(identity) }],
      structuredContent: identity,
    }
  }
)

await server.connect(new StdioServerTransport())
