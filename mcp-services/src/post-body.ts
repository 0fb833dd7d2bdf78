import { readRequestBody } from '@modelcontextprotocol/sdk/server/requestBody.js'
import { isJsonContentType } from '@modelcontextprotocol/sdk/shared/mediaType.js'
import { jsonRpcErrorResponse, PARSE_ERROR, SERVER_ERROR } from './json-rpc-error.ts'

/**
 * A POST's body as text, or the answer to give instead: 413 over `maxBytes`, 400 when it did not
 * arrive whole (the client went away mid-body). The second is the client's doing, so it is
 * answered, not thrown to become a 500 with a stack in the log.
 */
async function readPostBody(
  request: Request,
  maxBytes: number
): Promise<{ readonly text: string } | { readonly refusal: Response }> {
  const body = await readRequestBody(request, maxBytes).catch(() => undefined)
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

/** A POST's body parsed as JSON, or the answer to give instead (those above, 400 on bad JSON). */
export async function readJsonPost(
  request: Request,
  maxBytes: number
): Promise<{ readonly text: string; readonly parsed: unknown } | { readonly refusal: Response }> {
  const body = await readPostBody(request, maxBytes)
  if ('refusal' in body) return body
  try {
    return { text: body.text, parsed: JSON.parse(body.text) }
  } catch {
    return { refusal: jsonRpcErrorResponse(400, PARSE_ERROR, 'Parse error: Invalid JSON') }
  }
}

/** The POST rules for `Accept` and `Content-Type` of both eras, as the transport words them. */
export function postRefusal(headers: Headers): Response | undefined {
  const accept = headers.get('accept') ?? ''
  if (!accept.includes('application/json') || !accept.includes('text/event-stream')) {
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
