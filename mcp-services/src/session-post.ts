import { JSONRPCMessageSchema, type RequestId } from '@modelcontextprotocol/sdk/types.js'
import { INVALID_REQUEST, jsonRpcErrorResponse } from './json-rpc-error.ts'
import { isRevisionShaped } from './modern-protocol.ts'
import { postRefusal, readJsonPost } from './post-body.ts'
import type { Session } from './session.ts'

/**
 * The revision that took JSON-RPC batches out of the protocol: from it on, a POST carries one
 * message. 2025-03-26 (and 2024-11-05 before it) had them.
 */
const FIRST_WITHOUT_BATCHES = '2025-06-18'

/** No revision lets initialize be part of a batch (2025-03-26, the one with batches, says so). */
export const INITIALIZE_IN_BATCH =
  'Invalid Request: initialize must not be part of a JSON-RPC batch'

/**
 * A batch naming `initialize`, well formed or not: the transport only recognises a well-formed
 * one, and would hand one with bad params to the child, which answers with its own parse errors.
 */
export function batchHoldsInitialize(parsed: unknown): boolean {
  return Array.isArray(parsed) && parsed.some(namesInitialize)
}

function namesInitialize(message: unknown): boolean {
  return (
    typeof message === 'object' &&
    message !== null &&
    (message as { method?: unknown }).method === 'initialize'
  )
}

/**
 * A POST of an existing session (protocol 2025-03-26 … 2025-11-25), read and checked before the
 * session's transport sees it: the header rules, the body as JSON, and a batch only in a session
 * of a revision that has them, without initialize, and with no more requests than the user may
 * have in flight (`maxRequests`): a larger one could never fit, so it is no 429 to retry. The
 * transport would take a batch whatever the revision, and hand an initialize in it to the child.
 */
export async function readSessionPost(
  request: Request,
  session: Session,
  limits: { readonly maxBytes: number; readonly maxRequests: number }
): Promise<
  | {
      readonly parsed: unknown
      /** The ids of the requests among the messages (those with a method and an id). */
      readonly requestIds: readonly RequestId[]
    }
  | { readonly refusal: Response }
> {
  const refusal = postRefusal(request.headers)
  if (refusal) return { refusal }
  const body = await readJsonPost(request, limits.maxBytes)
  if ('refusal' in body) return body
  if (Array.isArray(body.parsed)) {
    // JSON-RPC 2.0: an empty batch is an invalid request, in any revision.
    if (body.parsed.length === 0) {
      return {
        refusal: jsonRpcErrorResponse(400, INVALID_REQUEST, 'Invalid Request: an empty batch'),
      }
    }
    // The session's revision (the child's answer to initialize, else what the client asked for);
    // without either, the client's header, and none at all is 2025-03-26, as the protocol says.
    // A version that names no revision is answered with the server's latest: no batches.
    const revision = session.protocolVersion ?? request.headers.get('mcp-protocol-version')
    const takesBatches =
      revision === null || (isRevisionShaped(revision) && revision < FIRST_WITHOUT_BATCHES)
    if (!takesBatches) {
      return {
        refusal: jsonRpcErrorResponse(
          400,
          INVALID_REQUEST,
          `Invalid Request: protocol ${revision} takes one JSON-RPC message per POST, not a batch`
        ),
      }
    }
  }
  const messages: unknown[] = Array.isArray(body.parsed) ? body.parsed : [body.parsed]
  // JSON that is no JSON-RPC message is an invalid request, not a parse error (the transport's
  // answer, -32700, would say the JSON itself was broken). Judged by the transport's own schema,
  // so what passes here is what it takes.
  if (!messages.every((message) => JSONRPCMessageSchema.safeParse(message).success)) {
    return {
      refusal: jsonRpcErrorResponse(
        400,
        INVALID_REQUEST,
        'Invalid Request: the body is JSON but not a JSON-RPC 2.0 message'
      ),
    }
  }
  if (batchHoldsInitialize(body.parsed)) {
    return { refusal: jsonRpcErrorResponse(400, INVALID_REQUEST, INITIALIZE_IN_BATCH) }
  }
  // Alone, too: the transport refuses a well-formed one in words of its own, and would hand a
  // malformed one to the child as the batch above.
  if (namesInitialize(body.parsed)) {
    const message = 'Invalid Request: Server already initialized'
    return { refusal: jsonRpcErrorResponse(400, INVALID_REQUEST, message) }
  }
  // Checked against the schema above, a message with a method and an id is a request.
  const requestIds = (messages as { method?: unknown; id?: RequestId }[])
    .filter((message) => message.method !== undefined && message.id !== undefined)
    .map((message) => message.id as RequestId)
  if (requestIds.length > limits.maxRequests) {
    const message = `Invalid Request: a batch of ${requestIds.length} requests is more than the ${limits.maxRequests} a user may have in flight; send at most ${limits.maxRequests} a batch`
    return { refusal: jsonRpcErrorResponse(400, INVALID_REQUEST, message) }
  }
  return { parsed: body.parsed, requestIds }
}

/**
 * A request reusing the id of one in flight in the session, or of another in the same batch, is
 * refused (JSON-RPC: a request's id tells its answer apart). Taken, the child would answer both
 * under one id, the bridge could not tell the answers apart, and the requests it counts against
 * `MAX_REQUESTS_PER_USER` would be fewer than the child works on.
 */
export function reusedIdRefusal(ids: readonly RequestId[], session: Session): Response | undefined {
  const seen = new Set<RequestId>()
  for (const id of ids) {
    if (seen.has(id) || session.isInFlight(id)) {
      return jsonRpcErrorResponse(
        400,
        INVALID_REQUEST,
        `Invalid Request: the id ${JSON.stringify(id)} is already used by a request in flight in this session`
      )
    }
    seen.add(id)
  }
  return undefined
}
