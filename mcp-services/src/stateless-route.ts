import { RequestSchema } from '@modelcontextprotocol/sdk/types.js'
import type { Logger } from 'pino'
import { acceptedMediaTypes } from './accept.ts'
import type { ChildPool } from './child-pool.ts'
import type { BridgeConfig } from './config.ts'
import type { Identity } from './identity.ts'
import { INVALID_REQUEST, SERVER_ERROR } from './json-rpc-error.ts'
import {
  CLIENT_CAPABILITIES_META_KEY,
  decodeHeaderValue,
  envelopeOf,
  HEADER_MISMATCH,
  INVALID_PARAMS,
  isObject,
  isRevisionShaped,
  type JsonObject,
  METHOD_NOT_FOUND,
  MODERN_PROTOCOL_VERSIONS,
  mcpNameOf,
  modernCapabilities,
  PROTOCOL_VERSION_META_KEY,
  SERVED_PROTOCOL_VERSIONS,
  toModernResult,
  UNSUPPORTED_PROTOCOL_VERSION,
  withoutEnvelope,
  withoutTaskAugmentation,
} from './modern-protocol.ts'
import { forgetMirroredParams, paramHeaderProblem } from './param-headers.ts'
import type { PolicyGate } from './policy/gate.ts'
import { listenRefusal, type PoolRefusal, poolRefusal } from './pool-refusal.ts'
import type { PooledChild } from './pooled-child.ts'
import { sseResponse } from './sse.ts'
import { begin, settle } from './stateless-exchange.ts'
import { listen } from './subscriptions-listen.ts'

/** Session-era methods the 2026-07-28 revision removed: 404, never forwarded to the child. */
const REMOVED_METHODS = new Set([
  'initialize',
  'ping',
  'logging/setLevel',
  'resources/subscribe',
  'resources/unsubscribe',
  'tasks/list',
  'tasks/result',
])

/**
 * The methods of the tasks extension (SEP-2663), which the bridge does not offer: 404 like any
 * method a server lacks. A 2025-era child may know `tasks/get` and `tasks/cancel`, but answers
 * them about its own 2025-11-25 tasks, in shapes the extension replaced.
 */
const TASKS_EXTENSION_METHODS = new Set(['tasks/get', 'tasks/update', 'tasks/cancel'])

export interface StatelessDeps {
  readonly pool: ChildPool
  readonly config: BridgeConfig
  readonly logger: Logger
  readonly now: () => number
  readonly policy?: PolicyGate | undefined
}

type RequestId = string | number

/**
 * One request of the stateless era (revision 2026-07-28), validated as its transport requires,
 * then answered by the user's pooled child: `server/discover` from the child's initialize result,
 * `subscriptions/listen` as a stream of the child's list-changed notifications, anything else
 * forwarded as a plain JSON-RPC request and its answer translated. A request the child makes of
 * the client on the way (sampling, elicitation, roots) comes back as an `input_required` result;
 * the client's retry with `requestState` resumes the waiting call.
 */
export async function serveStateless(
  request: Request,
  body: unknown,
  identity: Identity,
  deps: StatelessDeps
): Promise<Response> {
  // An id of another type (MCP forbids null) makes it neither request nor notification: a 202
  // would leave the client waiting for an answer that never comes.
  const id = isObject(body) ? body.id : undefined
  const isRequest = typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id))
  if (
    !isObject(body) ||
    body.jsonrpc !== '2.0' ||
    typeof body.method !== 'string' ||
    ('id' in body && !isRequest)
  ) {
    return ladderError(
      null,
      400,
      INVALID_REQUEST,
      'Invalid Request: one JSON-RPC 2.0 request (with a string or number id) or notification'
    )
  }
  const method = body.method
  // Refusals name the request they refuse, when it is one.
  const replyId = isRequest ? id : null
  const envelope = envelopeOf(body)
  const claimed = envelope?.[PROTOCOL_VERSION_META_KEY]
  const header = request.headers.get('mcp-protocol-version')
  if (header !== null && !isRevisionShaped(header)) return unsupportedVersion(replyId, header)
  if (typeof claimed !== 'string') {
    return ladderError(
      replyId,
      400,
      INVALID_PARAMS,
      `Invalid params: the _meta envelope lacks ${PROTOCOL_VERSION_META_KEY}`
    )
  }
  if (header !== null && header !== claimed) {
    return ladderError(
      replyId,
      400,
      HEADER_MISMATCH,
      `Header mismatch: MCP-Protocol-Version ${header} but the body claims ${claimed}`
    )
  }
  if (!MODERN_PROTOCOL_VERSIONS.includes(claimed)) return unsupportedVersion(replyId, claimed)
  // Notifications need no answer; a child cannot be told about a stateless client's cancellation
  // by the client's id, and the HTTP request's end already abandons the call.
  if (!isRequest) return new Response(null, { status: 202 })
  const headerProblem = standardHeaderProblem(request.headers, method, body.params)
  if (headerProblem) return ladderError(replyId, 400, HEADER_MISMATCH, headerProblem)
  const clientCapabilities = envelope?.[CLIENT_CAPABILITIES_META_KEY]
  if (!isObject(clientCapabilities)) {
    return ladderError(
      replyId,
      400,
      INVALID_PARAMS,
      `Invalid params: the _meta envelope lacks ${CLIENT_CAPABILITIES_META_KEY}`
    )
  }
  // The child's SDK drops a request its schema refuses (a `progressToken` that is neither a
  // string nor an integer) without answering: refused here, or the call would wait for ever.
  const childShape = RequestSchema.safeParse({ method, params: body.params })
  if (!childShape.success) {
    const where = (childShape.error.issues[0]?.path ?? ['params']).join('.')
    return ladderError(replyId, 400, INVALID_PARAMS, `Invalid params: ${where} is not valid`)
  }

  const unserved = unservedBecause(method)
  if (unserved) {
    return ladderError(replyId, 404, METHOD_NOT_FOUND, `Method not found: ${method} (${unserved})`)
  }
  // Policy (the user may use the service: checked by the route): the tool's rules and scopes.
  const subject = deps.policy && (await deps.policy.subject(identity))
  if (deps.policy && subject) {
    const decision = deps.policy.decide(body, subject, identity)
    if (decision.kind === 'step-up') {
      return deps.policy.stepUp(request, identity, decision, replyId as RequestId | null)
    }
    if (decision.kind === 'refused') {
      return answer(id, { error: deps.policy.refusalError(decision) })
    }
  }
  let pooled: PooledChild
  try {
    pooled = await deps.pool.acquire(identity)
  } catch (error) {
    const refusal = poolRefusal(error)
    if (refusal) return refused(replyId, refusal)
    deps.logger.error({ err: error }, 'could not start the MCP server process')
    return ladderError(replyId, 500, SERVER_ERROR, 'Internal error: could not start the MCP server')
  }
  const serverInfo = pooled.initializeResult.serverInfo
  switch (method) {
    case 'server/discover':
      return answer(id, {
        result: toModernResult(
          method,
          {
            // Every version the endpoint serves, as −32022 lists them: the sessions' too.
            supportedVersions: SERVED_PROTOCOL_VERSIONS,
            capabilities: modernCapabilities(pooled.initializeResult.capabilities),
            ...(typeof pooled.initializeResult.instructions === 'string'
              ? { instructions: pooled.initializeResult.instructions }
              : {}),
          },
          serverInfo
        ),
      })
    case 'subscriptions/listen': {
      // A stream holds a place on its child for as long as it is open (the child is kept, its
      // listener called): bounded per user like the requests being handled.
      const bound = deps.config.maxRequestsPerUser
      if (deps.pool.listenersOf(identity.userId) >= bound) {
        return refused(replyId, listenRefusal(bound))
      }
      return listen(pooled, id, body.params, request.signal, deps.config.streamMaxAgeMs)
    }
  }
  if (method === 'tools/list') forgetMirroredParams(pooled)
  if (method === 'tools/call') {
    const problem = await paramHeaderProblem(pooled, request.headers, body.params)
    if (problem) return ladderError(replyId, 400, HEADER_MISMATCH, problem)
  }
  const begun = begin(pooled, method, withoutTaskAugmentation(withoutEnvelope(body.params)))
  if ('error' in begun) return answer(id, { error: begun.error })
  const exchange = begun.exchange
  const settling = async (notify: (notification: JsonObject) => void) => {
    const outcome = await settle(pooled, exchange, id, clientCapabilities, {
      signal: request.signal,
      suspendForMs: deps.config.idleTimeoutMs,
      now: deps.now,
      notify,
    })
    if (method !== 'tools/list' || !deps.policy || !subject || !outcome.message.result) {
      return outcome
    }
    const result = deps.policy.filterToolsList(outcome.message.result, subject) as JsonObject
    return { ...outcome, message: { ...outcome.message, result } }
  }
  // Progress asked for and a client that reads SSE: the answer becomes a stream carrying the
  // child's progress first (a refusal on the way is then in-band: the status is sent).
  const streams = acceptedMediaTypes(request.headers.get('accept')).has('text/event-stream')
  if (exchange.progressToken === undefined || !streams) {
    const outcome = await settling(() => {})
    return Response.json(outcome.message, { status: outcome.status })
  }
  return sseResponse((write, close) => {
    void settling(write).then((outcome) => {
      write(outcome.message)
      close()
    })
  })
}

/** Why the stateless era does not serve a method (404 −32601), or undefined when it does. */
function unservedBecause(method: string): string | undefined {
  if (REMOVED_METHODS.has(method)) return 'removed in 2026-07-28'
  if (TASKS_EXTENSION_METHODS.has(method)) return 'the tasks extension is not offered'
  return undefined
}

/** `MCP-Protocol-Version`, `Mcp-Method` and (where the method has one) `Mcp-Name` must be there. */
function standardHeaderProblem(headers: Headers, method: string, params: unknown) {
  if (!headers.has('mcp-protocol-version')) return 'Header mismatch: MCP-Protocol-Version missing'
  const sentMethod = headers.get('mcp-method')
  if (sentMethod === null) return 'Header mismatch: Mcp-Method missing'
  if (sentMethod !== method) {
    return `Header mismatch: Mcp-Method ${sentMethod} but the body's method is ${method}`
  }
  const name = mcpNameOf(method, params)
  if (name === undefined) return undefined
  const sentName = headers.get('mcp-name')
  if (sentName === null) return `Header mismatch: Mcp-Name missing for ${method}`
  const decodedName = decodeHeaderValue(sentName)
  if (decodedName === undefined) return 'Header mismatch: Mcp-Name is not valid Base64'
  if (decodedName !== name) {
    return "Header mismatch: Mcp-Name does not match the body's params"
  }
  return undefined
}

function answer(id: RequestId, outcome: { result?: JsonObject; error?: JsonObject }): Response {
  return Response.json({ jsonrpc: '2.0', id, ...outcome })
}

/** A refusal of the pool's, with the wait it names. */
function refused(replyId: RequestId | null, refusal: PoolRefusal): Response {
  const retryAfter = { 'Retry-After': String(refusal.retryAfterSeconds) }
  return ladderError(replyId, refusal.status, SERVER_ERROR, refusal.message, {}, retryAfter)
}

/** 400 −32022 (UnsupportedProtocolVersionError): the versions served, and the one requested. */
export function unsupportedVersion(id: RequestId | null, requested: string): Response {
  return ladderError(
    id,
    400,
    UNSUPPORTED_PROTOCOL_VERSION,
    `Unsupported protocol version ${requested}`,
    {
      supported: SERVED_PROTOCOL_VERSIONS,
      requested,
    }
  )
}

/** A refusal of the transport's validation ladder: an HTTP status with a JSON-RPC error. */
function ladderError(
  id: RequestId | null,
  status: number,
  code: number,
  message: string,
  data?: JsonObject,
  headers: Record<string, string> = {}
): Response {
  const error = { code, message, ...(data && Object.keys(data).length > 0 ? { data } : {}) }
  return Response.json({ jsonrpc: '2.0', id, error }, { status, headers })
}
