import { IDENTITY_HEADERS } from './identity-headers.ts'

/**
 * The headers only the gateway may set on a request to an MCP server: the identity, and the proof
 * that the request came through the gateway (mcp-services/src/shared-secret.ts).
 */
const GUARDED = new Set([...IDENTITY_HEADERS, 'X-Bridge-Secret'].map((name) => name.toLowerCase()))

/**
 * The first field name that is not one of the guarded headers but that a server downstream may
 * read as one: `X_User_Id`. The proxy overwrites only the exact names it copies from `/verify`, so
 * a client's `X_User_Id` reaches the MCP server next to the real `X-User-Id`, and servers that map
 * header names onto variables (`HTTP_X_USER_ID`, as CGI does) turn underscores and dashes into the
 * same character: the client's value can then stand in for, or shadow, the verified one.
 */
export function identityLookalike(fieldNames: Iterable<string>): string | undefined {
  for (const name of fieldNames) {
    if (name.includes('_') && GUARDED.has(name.toLowerCase().replaceAll('_', '-'))) return name
  }
  return undefined
}
