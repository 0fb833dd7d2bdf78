import { readRequestBody } from '@modelcontextprotocol/sdk/server/requestBody.js'
import { isJsonContentType } from '@modelcontextprotocol/sdk/shared/mediaType.js'
import { acceptedMediaTypes, MCP_MEDIA_TYPES } from './accept.ts'
import {
  INVALID_REQUEST,
  jsonRpcErrorResponse,
  PARSE_ERROR,
  SERVER_ERROR,
} from './json-rpc-error.ts'
import { BridgeFull, bridgeFullAnswer } from './requests-in-hand.ts'

/**
 * A POST's body as text, or the answer to give instead: 413 over `maxBytes`, 503 when the bridge
 * holds as many bodies' bytes as it may (requests-in-hand.ts), 400 when it did not arrive whole
 * (the client went away mid-body). The last is the client's doing, so it is answered, not thrown
 * to become a 500 with a stack in the log.
 */
async function readPostBody(
  request: Request,
  maxBytes: number
): Promise<{ readonly text: string } | { readonly refusal: Response }> {
  const body = await readRequestBody(request, maxBytes).catch((error: unknown) =>
    error instanceof BridgeFull ? error : undefined
  )
  if (body instanceof BridgeFull) return { refusal: bridgeFullAnswer() }
  if (body === undefined) {
    return {
      refusal: jsonRpcErrorResponse(
        400,
        SERVER_ERROR,
        'Bad Request: the body did not arrive whole'
      ),
    }
  }
  if (body.tooLarge)
    return { refusal: jsonRpcErrorResponse(413, SERVER_ERROR, 'Payload Too Large') }
  return { text: body.text }
}

/**
 * How deep a message's arrays and objects may nest. `JSON.parse` takes any depth, but the
 * transport writing the message to the child serializes it recursively and overflows the stack
 * some thousands of levels down, which the client would see as the bridge's internal error.
 * Common JSON parsers of MCP servers stop at 64 to 1,000 levels; tool arguments use a handful.
 */
export const MAX_JSON_DEPTH = 128

/** A POST's body parsed as JSON, or the answer to give instead (those above, 400 on bad JSON). */
export async function readJsonPost(
  request: Request,
  maxBytes: number
): Promise<{ readonly text: string; readonly parsed: unknown } | { readonly refusal: Response }> {
  const body = await readPostBody(request, maxBytes)
  if ('refusal' in body) return body
  let parsed: unknown
  try {
    parsed = JSON.parse(body.text)
  } catch {
    return { refusal: jsonRpcErrorResponse(400, PARSE_ERROR, 'Parse error: Invalid JSON') }
  }
  if (nestsDeeperThan(body.text, MAX_JSON_DEPTH)) {
    const message = `Invalid Request: the JSON nests deeper than ${MAX_JSON_DEPTH} levels`
    return { refusal: jsonRpcErrorResponse(400, INVALID_REQUEST, message) }
  }
  return { text: body.text, parsed }
}

/**
 * Read off the JSON text (valid, as parsed just before) rather than the parsed value: one pass
 * over its characters, without recursion, and far cheaper than visiting every object of a body
 * holding a million empty ones.
 */
function nestsDeeperThan(json: string, limit: number): boolean {
  let depth = 0
  let inString = false
  for (let i = 0; i < json.length; i++) {
    const char = json[i]
    if (inString) {
      // An escaped character, a quote among them, does not end the string.
      if (char === '\\') i++
      else if (char === '"') inString = false
    } else if (char === '"') inString = true
    else if (char === '{' || char === '[') {
      if (++depth > limit) return true
    } else if (char === '}' || char === ']') depth--
  }
  return false
}

/** The POST rules for `Accept` and `Content-Type` of both eras, as the transport words them. */
export function postRefusal(headers: Headers): Response | undefined {
  const accepted = acceptedMediaTypes(headers.get('accept'))
  if (!MCP_MEDIA_TYPES.every((type) => accepted.has(type))) {
    return jsonRpcErrorResponse(
      406,
      SERVER_ERROR,
      'Not Acceptable: Client must accept both application/json and text/event-stream'
    )
  }
  if (!isJsonContentType(headers.get('content-type'))) {
    return jsonRpcErrorResponse(
      415,
      SERVER_ERROR,
      'Unsupported Media Type: Content-Type must be application/json'
    )
  }
  return undefined
}
