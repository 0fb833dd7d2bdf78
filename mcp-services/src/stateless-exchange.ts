import { randomUUID } from 'node:crypto'
import type { ChildRequest, Exchange, ExchangeEvent } from './exchange.ts'
import {
  INPUT_CAPABLE_METHODS,
  INPUT_KEY_META_KEY,
  INTERNAL_ERROR,
  INVALID_PARAMS,
  isObject,
  type JsonObject,
  METHOD_NOT_FOUND,
  MISSING_REQUIRED_CLIENT_CAPABILITY,
  mcpNameOf,
  toModernError,
  toModernResult,
} from './modern-protocol.ts'
import type { PooledChild } from './pooled-child.ts'

type RequestId = string | number

/** The message that ends a stateless request, and the HTTP status it goes with as plain JSON. */
export interface Outcome {
  readonly status: number
  readonly message: JsonObject
}

/** The client capability a request of the child's needs, by method. */
const CAPABILITY_FOR: Readonly<Record<string, string>> = {
  'sampling/createMessage': 'sampling',
  'elicitation/create': 'elicitation',
  'roots/list': 'roots',
}

/**
 * How long the child's first request to the client waits for more: requests a child makes at
 * once (one `Promise.all`) arrive within microseconds over stdio, and then reach the client as
 * one `input_required` result instead of one round trip each.
 */
const INPUT_BATCH_WINDOW_MS = 10

/**
 * The call a request makes of the child: a new one, or (with `requestState`) the waiting call it
 * resumes. Its `inputResponses` go with the call: the answers to the child's waiting requests,
 * or, for a new call, answers given up front to requests the child has yet to make.
 */
export function begin(
  pooled: PooledChild,
  method: string,
  params: JsonObject | undefined
): { exchange: Exchange } | { error: JsonObject } {
  const responses = params?.inputResponses
  if (params && 'inputResponses' in params && !isResponseMap(responses)) {
    return invalid('inputResponses must map each input key to a result object')
  }
  const requestState = params?.requestState
  if (requestState === undefined) {
    const exchange = pooled.forward(method, withoutInputFields(params))
    for (const [key, value] of Object.entries(responses ?? {})) exchange.answers.set(key, value)
    return { exchange }
  }
  const exchange = typeof requestState === 'string' ? pooled.suspended.get(requestState) : undefined
  // A retry is the same request plus its answers: one naming another tool (or prompt, resource)
  // would get the waiting call's result for a request it does not answer.
  if (!exchange || exchange.method !== method || exchange.name !== mcpNameOf(method, params)) {
    return invalid('unknown requestState')
  }
  for (const [key, value] of Object.entries(responses ?? {})) {
    const request = exchange.waiting.get(key)
    if (request && !answers(request.method, value)) {
      return invalid(`inputResponses.${key} is not a result of ${request.method}`)
    }
  }
  pooled.suspended.delete(requestState as string)
  for (const [key, value] of Object.entries(responses ?? {})) exchange.answers.set(key, value)
  return { exchange }
}

/**
 * Waits for the child: its answer, or requests of its own that become `input_required` (unless
 * the client answered them already). Progress notifications for the request are handed to
 * `notify` on the way.
 */
export async function settle(
  pooled: PooledChild,
  exchange: Exchange,
  id: RequestId,
  clientCapabilities: JsonObject,
  options: {
    readonly signal: AbortSignal
    readonly suspendForMs: number
    readonly now: () => number
    readonly notify: (notification: JsonObject) => void
  }
): Promise<Outcome> {
  const onAbort = () => pooled.abandon(exchange, 'the client went away')
  // A client may have left while the child was being found or started: no event comes then.
  if (options.signal.aborted) onAbort()
  else options.signal.addEventListener('abort', onAbort, { once: true })
  try {
    for (;;) {
      answerWaiting(pooled, exchange)
      if (exchange.waiting.size > 0) {
        return inBand(id, { result: suspend(pooled, exchange, options.suspendForMs) })
      }
      const first = await exchange.next()
      // The child's requests made at once reach the client together.
      const events: ExchangeEvent[] =
        first.kind === 'child-request'
          ? [first, ...(await exchange.collect(INPUT_BATCH_WINDOW_MS))]
          : [first]
      pooled.lastUsed = options.now()
      let answer: Extract<ExchangeEvent, { kind: 'answer' }> | undefined
      for (const event of events) {
        if (event.kind === 'notification') {
          options.notify({ jsonrpc: '2.0', method: event.method, params: event.params })
        } else if (event.kind === 'answer') answer = event
        else {
          const refusal = admit(pooled, exchange, event, clientCapabilities)
          if (refusal) return refuse(pooled, exchange, id, refusal)
        }
      }
      if (!answer) continue
      // The child answered, leaving requests of its own behind: nothing will read their answers.
      refuseWaiting(pooled, exchange, 'The call has ended')
      if (answer.error) {
        // An unknown method is the one error of a handler the transport maps to a status.
        const status = answer.error.code === METHOD_NOT_FOUND ? 404 : 200
        const error = toModernError(exchange.method, answer.error, exchange.name)
        return { status, message: { jsonrpc: '2.0', id, error } }
      }
      const serverInfo = pooled.initializeResult.serverInfo
      return inBand(id, {
        result: toModernResult(exchange.method, answer.result ?? {}, serverInfo),
      })
    }
  } finally {
    options.signal.removeEventListener('abort', onAbort)
  }
}

/** Why a child's request cannot go to the client, or (`undefined`) it now waits for its answer. */
type Refusal = { capability: string } | { unrelayable: string }

function admit(
  pooled: PooledChild,
  exchange: Exchange,
  request: ChildRequest,
  clientCapabilities: JsonObject
): Refusal | undefined {
  const capability = CAPABILITY_FOR[request.method]
  if (capability === undefined || !INPUT_CAPABLE_METHODS.has(exchange.method)) {
    void refuseChild(pooled, request, `The client cannot answer ${request.method}`)
    return { unrelayable: request.method }
  }
  if (!(capability in clientCapabilities)) {
    void refuseChild(pooled, request, `The client cannot answer ${request.method}`)
    return { capability }
  }
  exchange.waiting.set(inputKey(exchange, request), request)
  return undefined
}

/** The call ends with an error: the child's other requests are refused and its call cancelled. */
function refuse(pooled: PooledChild, exchange: Exchange, id: RequestId, refusal: Refusal) {
  refuseWaiting(pooled, exchange, 'The client cannot answer what the server asked')
  pooled.abandon(exchange, 'the client cannot answer what the server asked')
  if ('unrelayable' in refusal) {
    const message = `The server asked ${refusal.unrelayable} of the client`
    return inBand(id, { error: { code: INTERNAL_ERROR, message } })
  }
  const { capability } = refusal
  return {
    status: 400,
    message: {
      jsonrpc: '2.0',
      id,
      error: {
        code: MISSING_REQUIRED_CLIENT_CAPABILITY,
        message: `Missing required client capability: ${capability}`,
        data: { requiredCapabilities: { [capability]: {} } },
      },
    },
  }
}

/** Waiting requests the client has answered (now or up front) get their answers. */
function answerWaiting(pooled: PooledChild, exchange: Exchange): void {
  for (const [key, request] of exchange.waiting) {
    const response = exchange.answers.get(key)
    // A missing answer, or one that does not fit, is asked for again.
    if (!answers(request.method, response)) continue
    exchange.answers.delete(key)
    exchange.waiting.delete(key)
    void pooled.send({ jsonrpc: '2.0', id: request.id, result: response })
  }
}

/** Keeps the call waiting and hands the client the child's requests as input requests. */
function suspend(pooled: PooledChild, exchange: Exchange, suspendForMs: number): JsonObject {
  // Names the replica holding the call, so a retry landing elsewhere is sent here.
  const requestState = `${pooled.statePrefix}${randomUUID()}`
  pooled.suspended.set(requestState, exchange)
  // A client that never retries must not keep the child's call (and the child) forever.
  setTimeout(() => {
    if (pooled.suspended.get(requestState) !== exchange) return
    pooled.suspended.delete(requestState)
    refuseWaiting(pooled, exchange, 'The client did not answer in time')
    pooled.abandon(exchange, 'the client did not answer the input request')
  }, suspendForMs).unref()
  const inputRequests: JsonObject = {}
  for (const [key, request] of exchange.waiting) {
    inputRequests[key] = { method: request.method, params: withoutInputKey(request.params) }
  }
  return { resultType: 'input_required', inputRequests, requestState }
}

/** The key the client sees a request under: the one the child named, else `input`, `input-2`... */
function inputKey(exchange: Exchange, request: ChildRequest): string {
  const meta = isObject(request.params) ? request.params._meta : undefined
  const named = isObject(meta) ? meta[INPUT_KEY_META_KEY] : undefined
  if (typeof named === 'string' && named !== '' && !exchange.waiting.has(named)) return named
  let key = 'input'
  for (let n = 2; exchange.waiting.has(key); n++) key = `input-${n}`
  return key
}

/** Whether a client's input response has the shape of the result the child's request expects. */
function answers(method: string, response: unknown): response is JsonObject {
  if (!isObject(response)) return false
  switch (method) {
    case 'elicitation/create':
      return ['accept', 'decline', 'cancel'].includes(String(response.action))
    case 'sampling/createMessage':
      return typeof response.role === 'string' && response.content !== undefined
    case 'roots/list':
      return Array.isArray(response.roots)
    default:
      return true
  }
}

function isResponseMap(value: unknown): value is JsonObject {
  return isObject(value) && Object.values(value).every(isObject)
}

function refuseWaiting(pooled: PooledChild, exchange: Exchange, message: string): void {
  for (const request of exchange.waiting.values()) void refuseChild(pooled, request, message)
  exchange.waiting.clear()
}

function refuseChild(pooled: PooledChild, request: ChildRequest, message: string) {
  return pooled.send({ jsonrpc: '2.0', id: request.id, error: { code: INTERNAL_ERROR, message } })
}

/** The request as the child gets it: the input fields are the bridge's to handle. */
function withoutInputFields(params: JsonObject | undefined): JsonObject | undefined {
  if (!params) return params
  const { inputResponses: _responses, requestState: _state, ...rest } = params
  return rest
}

function withoutInputKey(params: unknown): JsonObject {
  if (!isObject(params) || !isObject(params._meta) || !(INPUT_KEY_META_KEY in params._meta)) {
    return isObject(params) ? params : {}
  }
  const { [INPUT_KEY_META_KEY]: _key, ...meta } = params._meta
  const { _meta: _old, ...rest } = params
  return Object.keys(meta).length > 0 ? { ...rest, _meta: meta } : rest
}

function invalid(reason: string): { error: JsonObject } {
  return { error: { code: INVALID_PARAMS, message: `Invalid params: ${reason}` } }
}

function inBand(id: RequestId, outcome: { result?: JsonObject; error?: JsonObject }): Outcome {
  return { status: 200, message: { jsonrpc: '2.0', id, ...outcome } }
}
