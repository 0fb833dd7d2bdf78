import type { Identity } from '../identity.ts'
import { SERVER_ERROR } from '../json-rpc-error.ts'
import type { Session } from '../session.ts'
import type { Subject } from './evaluate.ts'
import type { PolicyGate } from './gate.ts'

type RequestId = string | number

/**
 * A POST of an existing session (protocol 2025-03-26 … 2025-11-25), screened before the session
 * sees it: a `tools/call` needing a scope the token lacks gets the 403 step-up challenge (nothing
 * of the POST is run), a refused call its JSON-RPC error, and the answers to `tools/list` are
 * filtered on their way back. In a batch (2025-03-26) with a refused call nothing is run either:
 * every request of it is answered with an error, so a batch never half runs.
 */
export async function screenedSessionPost(
  request: Request,
  parsed: unknown,
  session: Session,
  identity: Identity,
  subject: Subject,
  gate: PolicyGate
): Promise<Response> {
  const messages: unknown[] = Array.isArray(parsed) ? parsed : [parsed]
  const refusals = new Map<RequestId, object>()
  // A refused call sent without an id (as a notification) gets no answer, but is not run either:
  // a server other than the SDK's might run it all the same.
  let refusedUnanswered = false
  for (const message of messages) {
    const decision = gate.decide(message, subject, identity)
    const id = requestIdOf(message)
    if (decision.kind === 'step-up') return gate.stepUp(request, identity, decision, id ?? null)
    if (decision.kind === 'refused') {
      if (id === undefined) refusedUnanswered = true
      else refusals.set(id, gate.refusalError(decision))
    }
  }
  if (refusals.size > 0 || refusedUnanswered) return refused(parsed, refusals)
  const lists = messages
    .filter((message) => methodOf(message) === 'tools/list')
    .map(requestIdOf)
    .filter((id) => id !== undefined)
  gate.expectToolsList(session, lists, subject)
  return session.handle(request, parsed)
}

/**
 * The answer to a POST with refused calls: their errors, and for the rest of a batch, one too;
 * with nothing to answer (notifications only), 202 as for notifications taken.
 */
function refused(parsed: unknown, refusals: Map<RequestId, object>): Response {
  if (!Array.isArray(parsed)) {
    const first = [...refusals][0]
    if (!first) return new Response(null, { status: 202 })
    const [id, error] = first
    return Response.json({ jsonrpc: '2.0', id, error })
  }
  const answers = parsed
    .map(requestIdOf)
    .filter((id) => id !== undefined)
    .map((id) => ({
      jsonrpc: '2.0',
      id,
      error: refusals.get(id) ?? {
        code: SERVER_ERROR,
        message: 'Not run: the batch holds a refused tool call',
      },
    }))
  return answers.length > 0 ? Response.json(answers) : new Response(null, { status: 202 })
}

function requestIdOf(message: unknown): RequestId | undefined {
  if (typeof message !== 'object' || message === null || !('method' in message)) return undefined
  const id = (message as { id?: unknown }).id
  return typeof id === 'string' || typeof id === 'number' ? id : undefined
}

function methodOf(message: unknown): unknown {
  return typeof message === 'object' && message !== null && 'method' in message
    ? (message as { method: unknown }).method
    : undefined
}
