import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import { type ChildPool, PoolFullError } from './child-pool.ts'
import type { BridgeConfig } from './config.ts'
import type { Identity } from './identity.ts'
import { INVALID_REQUEST, SERVER_ERROR } from './json-rpc-error.ts'
import {
  CLIENT_CAPABILITIES_META_KEY,
  decodeHeaderValue,
  envelopeOf,
  HEADER_MISMATCH,
  INPUT_CAPABLE_METHODS,
  INTERNAL_ERROR,
  INVALID_PARAMS,
  isObject,
  type JsonObject,
  METHOD_NOT_FOUND,
  MISSING_REQUIRED_CLIENT_CAPABILITY,
  MODERN_PROTOCOL_VERSIONS,
  mcpNameOf,
  modernCapabilities,
  PROTOCOL_VERSION_META_KEY,
  SERVED_PROTOCOL_VERSIONS,
  toModernResult,
  UNSUPPORTED_PROTOCOL_VERSION,
  withoutEnvelope,
} from './modern-protocol.ts'
import type { Exchange, PooledChild } from './pooled-child.ts'
import { listen } from './subscriptions-listen.ts'

export interface StatelessDeps {
  readonly pool: ChildPool
  readonly config: BridgeConfig
  readonly logger: Logger
  readonly now: () => number
}

type RequestId = string | number

/** The client capability a request of the child's needs, by method. */
const CAPABILITY_FOR: Readonly<Record<string, string>> = {
  'sampling/createMessage': 'sampling',
  'elicitation/create': 'elicitation',
  'roots/list': 'roots',
}

/**
 * One request of the stateless era (revision 2026-07-28), validated as its transport requires,
 * then answered by the user's pooled child: `server/discover` from the child's initialize result,
 * `subscriptions/listen` as a stream of the child's list-changed notifications, anything else
 * forwarded as a plain JSON-RPC request and its answer translated. A request the child makes of
 * the client on the way (sampling, elicitation) comes back as an `input_required` result; the
 * client's retry with `requestState` resumes the waiting call.
 */
export async function serveStateless(
  request: Request,
  body: unknown,
  identity: Identity,
  deps: StatelessDeps
): Promise<Response> {
  if (!isObject(body) || typeof body.method !== 'string') {
    return ladderError(
      400,
      INVALID_REQUEST,
      'Invalid Request: one JSON-RPC request or notification'
    )
  }
  const method = body.method
  const id = body.id as RequestId | undefined
  const isRequest = typeof id === 'string' || typeof id === 'number'
  const envelope = envelopeOf(body)
  const claimed = envelope?.[PROTOCOL_VERSION_META_KEY]
  const header = request.headers.get('mcp-protocol-version')
  if (typeof claimed !== 'string') {
    return ladderError(
      400,
      INVALID_PARAMS,
      `Invalid params: the _meta envelope lacks ${PROTOCOL_VERSION_META_KEY}`
    )
  }
  if (header !== null && header !== claimed) {
    return ladderError(
      400,
      HEADER_MISMATCH,
      `Header mismatch: MCP-Protocol-Version ${header} but the body claims ${claimed}`
    )
  }
  if (!MODERN_PROTOCOL_VERSIONS.includes(claimed)) {
    return ladderError(
      400,
      UNSUPPORTED_PROTOCOL_VERSION,
      `Unsupported protocol version ${claimed}`,
      {
        supported: SERVED_PROTOCOL_VERSIONS,
        requested: claimed,
      }
    )
  }
  // Notifications need no answer; a child cannot be told about a stateless client's cancellation
  // by the client's id, and the HTTP request's end already abandons the call.
  if (!isRequest) return new Response(null, { status: 202 })
  const headerProblem = standardHeaderProblem(request.headers, method, body.params)
  if (headerProblem) return ladderError(400, HEADER_MISMATCH, headerProblem)
  const clientCapabilities = envelope?.[CLIENT_CAPABILITIES_META_KEY]
  if (!isObject(clientCapabilities)) {
    return ladderError(
      400,
      INVALID_PARAMS,
      `Invalid params: the _meta envelope lacks ${CLIENT_CAPABILITIES_META_KEY}`
    )
  }

  let pooled: PooledChild
  try {
    pooled = await deps.pool.acquire(identity)
  } catch (error) {
    if (error instanceof PoolFullError) {
      return ladderError(503, SERVER_ERROR, 'Service Unavailable: every server is busy', {}, id, {
        'Retry-After': '5',
      })
    }
    deps.logger.error({ err: error }, 'could not start the MCP server process')
    return ladderError(500, SERVER_ERROR, 'Internal error: could not start the MCP server')
  }
  const serverInfo = pooled.initializeResult.serverInfo
  switch (method) {
    case 'server/discover':
      return answer(id, {
        result: toModernResult(
          method,
          {
            supportedVersions: MODERN_PROTOCOL_VERSIONS,
            capabilities: modernCapabilities(pooled.initializeResult.capabilities),
            ...(typeof pooled.initializeResult.instructions === 'string'
              ? { instructions: pooled.initializeResult.instructions }
              : {}),
          },
          serverInfo
        ),
      })
    case 'subscriptions/listen':
      return listen(pooled, id, body.params, request.signal)
    case 'initialize':
      return answer(id, {
        error: { code: METHOD_NOT_FOUND, message: 'initialize belongs to the session era' },
      })
  }
  const params = withoutEnvelope(body.params)
  const requestState = params?.requestState
  let exchange: Exchange
  if (typeof requestState === 'string') {
    const resumed = resume(pooled, requestState, method, params)
    if ('error' in resumed) return answer(id, { error: resumed.error })
    exchange = resumed.exchange
  } else {
    exchange = pooled.forward(method, params)
  }
  return drive(pooled, exchange, id, clientCapabilities, request.signal, deps)
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
  if (decodeHeaderValue(sentName) !== name) {
    return "Header mismatch: Mcp-Name does not match the body's params"
  }
  return undefined
}

/** Waits for the child: its answer, or a request of its own that becomes `input_required`. */
async function drive(
  pooled: PooledChild,
  exchange: Exchange,
  id: RequestId,
  clientCapabilities: JsonObject,
  signal: AbortSignal,
  deps: StatelessDeps
): Promise<Response> {
  const onAbort = () => pooled.abandon(exchange, 'the client went away')
  signal.addEventListener('abort', onAbort, { once: true })
  try {
    const event = await exchange.next()
    pooled.lastUsed = deps.now()
    if (event.kind === 'answer') {
      if (event.error) return answer(id, { error: event.error })
      const serverInfo = pooled.initializeResult.serverInfo
      return answer(id, { result: toModernResult(exchange.method, event.result ?? {}, serverInfo) })
    }
    const capability = CAPABILITY_FOR[event.method]
    if (
      capability === undefined ||
      !INPUT_CAPABLE_METHODS.has(exchange.method) ||
      !(capability in clientCapabilities)
    ) {
      await pooled.send({
        jsonrpc: '2.0',
        id: event.id,
        error: { code: INTERNAL_ERROR, message: `The client cannot answer ${event.method}` },
      })
      pooled.abandon(exchange, 'the client lacks a capability the request needs')
      if (capability === undefined || !INPUT_CAPABLE_METHODS.has(exchange.method)) {
        return answer(id, {
          error: {
            code: INTERNAL_ERROR,
            message: `The server asked ${event.method} of the client`,
          },
        })
      }
      return ladderError(
        400,
        MISSING_REQUIRED_CLIENT_CAPABILITY,
        `Missing required client capability: ${capability}`,
        { requiredCapabilities: { [capability]: {} } },
        id
      )
    }
    return answer(id, { result: suspend(pooled, exchange, event, deps) })
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}

/** Keeps the call waiting and hands the client the child's request as an input request. */
function suspend(
  pooled: PooledChild,
  exchange: Exchange,
  event: { id: RequestId; method: string; params: unknown },
  deps: StatelessDeps
): JsonObject {
  const requestState = randomUUID()
  pooled.suspended.set(requestState, { exchange, childRequestId: event.id })
  // A client that never retries must not keep the child's call (and the child) forever.
  setTimeout(() => {
    if (!pooled.suspended.delete(requestState)) return
    void pooled.send({
      jsonrpc: '2.0',
      id: event.id,
      error: { code: INTERNAL_ERROR, message: 'The client did not answer in time' },
    })
    pooled.abandon(exchange, 'the client did not answer the input request')
  }, deps.config.idleTimeoutMs).unref()
  const params = isObject(event.params) ? event.params : {}
  return {
    resultType: 'input_required',
    inputRequests: { input: { method: event.method, params } },
    requestState,
  }
}

/** The client's retry: its input response goes to the child, the call continues. */
function resume(
  pooled: PooledChild,
  requestState: string,
  method: string,
  params: JsonObject | undefined
): { exchange: Exchange } | { error: JsonObject } {
  const suspended = pooled.suspended.get(requestState)
  if (!suspended || suspended.exchange.method !== method) {
    return { error: { code: INVALID_PARAMS, message: 'Invalid params: unknown requestState' } }
  }
  const responses = params?.inputResponses
  const response = isObject(responses) ? responses.input : undefined
  if (!isObject(response)) {
    return {
      error: { code: INVALID_PARAMS, message: 'Invalid params: inputResponses.input missing' },
    }
  }
  pooled.suspended.delete(requestState)
  void pooled.send({ jsonrpc: '2.0', id: suspended.childRequestId, result: response })
  return { exchange: suspended.exchange }
}

function answer(id: RequestId, outcome: { result?: JsonObject; error?: JsonObject }): Response {
  return Response.json({ jsonrpc: '2.0', id, ...outcome })
}

/** A refusal of the transport's validation ladder: an HTTP status with a JSON-RPC error. */
function ladderError(
  status: number,
  code: number,
  message: string,
  data?: JsonObject,
  id: RequestId | null = null,
  headers: Record<string, string> = {}
): Response {
  const error = { code, message, ...(data && Object.keys(data).length > 0 ? { data } : {}) }
  return Response.json({ jsonrpc: '2.0', id, error }, { status, headers })
}
