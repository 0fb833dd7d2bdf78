import { randomUUID } from 'node:crypto'
import {
  INPUT_CAPABLE_METHODS,
  INTERNAL_ERROR,
  INVALID_PARAMS,
  isObject,
  type JsonObject,
  METHOD_NOT_FOUND,
  MISSING_REQUIRED_CLIENT_CAPABILITY,
  toModernResult,
} from './modern-protocol.ts'
import type { Exchange, PooledChild } from './pooled-child.ts'

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
 * Waits for the child: its answer, or a request of its own that becomes `input_required`.
 * Progress notifications for the request are handed to `notify` on the way.
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
  options.signal.addEventListener('abort', onAbort, { once: true })
  try {
    for (;;) {
      const event = await exchange.next()
      pooled.lastUsed = options.now()
      if (event.kind === 'notification') {
        options.notify({ jsonrpc: '2.0', method: event.method, params: event.params })
        continue
      }
      if (event.kind === 'answer') {
        if (event.error) {
          // An unknown method is the one error of a handler the transport maps to a status.
          const status = event.error.code === METHOD_NOT_FOUND ? 404 : 200
          return { status, message: { jsonrpc: '2.0', id, error: event.error } }
        }
        const serverInfo = pooled.initializeResult.serverInfo
        const result = toModernResult(exchange.method, event.result ?? {}, serverInfo)
        return inBand(id, { result })
      }
      const capability = CAPABILITY_FOR[event.method]
      const relayable = capability !== undefined && INPUT_CAPABLE_METHODS.has(exchange.method)
      if (relayable && capability in clientCapabilities) {
        return inBand(id, { result: suspend(pooled, exchange, event, options.suspendForMs) })
      }
      await pooled.send({
        jsonrpc: '2.0',
        id: event.id,
        error: { code: INTERNAL_ERROR, message: `The client cannot answer ${event.method}` },
      })
      pooled.abandon(exchange, 'the client cannot answer what the server asked')
      if (!relayable) {
        const message = `The server asked ${event.method} of the client`
        return inBand(id, { error: { code: INTERNAL_ERROR, message } })
      }
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
  } finally {
    options.signal.removeEventListener('abort', onAbort)
  }
}

/** Keeps the call waiting and hands the client the child's request as an input request. */
function suspend(
  pooled: PooledChild,
  exchange: Exchange,
  event: { id: RequestId; method: string; params: unknown },
  suspendForMs: number
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
  }, suspendForMs).unref()
  const params = isObject(event.params) ? event.params : {}
  return {
    resultType: 'input_required',
    inputRequests: { input: { method: event.method, params } },
    requestState,
  }
}

/** The client's retry: its input response goes to the child, the call continues. */
export function resume(
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

function inBand(id: RequestId, outcome: { result?: JsonObject; error?: JsonObject }): Outcome {
  return { status: 200, message: { jsonrpc: '2.0', id, ...outcome } }
}
