/** An error answering no request the server could read (`id: null`, as JSON-RPC 2.0 says). */
export function jsonRpcError(code: number, message: string) {
  return { jsonrpc: '2.0', error: { code, message }, id: null } as const
}

/**
 * A JSON-RPC error answered on the HTTP level (no request id known), the shape the SDK's
 * transport uses for its own refusals, so clients handle ours the same way.
 */
export function jsonRpcErrorResponse(
  status: number,
  code: number,
  message: string,
  headers: Record<string, string> = {}
): Response {
  return new Response(JSON.stringify(jsonRpcError(code, message)), {
    status,
    headers: { 'Content-Type': 'application/json', ...headers },
  })
}

/** Why a request that would start a child was refused (crash-rate.ts), as both eras word it. */
export const CRASH_RATE_REFUSAL =
  "this user's MCP server processes keep exiting at start or by themselves; try again later"

/** Codes of the implementation-defined range, as the SDK uses them. */
export const SERVER_ERROR = -32000
export const SESSION_NOT_FOUND = -32001
export const PARSE_ERROR = -32700
export const INVALID_REQUEST = -32600
export const INTERNAL_ERROR = -32603

/**
 * A request that could not be written to its child (the process gone, or a message nested past
 * what serialising allows), as both eras answer it: the error's own text stays in the log.
 */
export const UNDELIVERED =
  'Internal error: the request could not be given to the MCP server process'

/** JSON-RPC error code sent for requests a child can no longer answer (implementation range). */
export const CHILD_EXITED_CODE = -32003

/** The answer to a request in flight when its session ended. */
export function childGoneError(id: string | number, reason: string) {
  return {
    jsonrpc: '2.0' as const,
    id,
    error: { code: CHILD_EXITED_CODE, message: `Session ended: ${reason}` },
  }
}
