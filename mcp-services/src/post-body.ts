import { readRequestBody } from '@modelcontextprotocol/sdk/server/requestBody.js'
import { jsonRpcErrorResponse, SERVER_ERROR } from './json-rpc-error.ts'

/**
 * A POST's body as text, or the answer to give instead: 413 over `maxBytes`, 400 when it did not
 * arrive whole (the client went away mid-body). The second is the client's doing, so it is
 * answered, not thrown to become a 500 with a stack in the log.
 */
export async function readPostBody(
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
