import { isObject, type JsonObject, SUBSCRIPTION_ID_META_KEY } from './modern-protocol.ts'
import type { NotificationListener, PooledChild } from './pooled-child.ts'
import { sseResponse } from './sse.ts'

/** Filter flags of `subscriptions/listen` and the child's notification each one stands for. */
const LIST_CHANGED: ReadonlyArray<readonly [string, string, string]> = [
  ['toolsListChanged', 'tools', 'notifications/tools/list_changed'],
  ['promptsListChanged', 'prompts', 'notifications/prompts/list_changed'],
  ['resourcesListChanged', 'resources', 'notifications/resources/list_changed'],
]

/**
 * `subscriptions/listen`: an SSE stream that opens with the acknowledgement (the part of the
 * filter honoured: the list-changed flags whose list the child says can change; resource
 * subscriptions are not relayed) and then carries the child's matching notifications, tagged
 * with the subscription's id, until the client goes away, the child ends, the bridge shuts down
 * or `maxAgeMs` has passed (the client listens again, past the proxy's token check).
 */
export function listen(
  pooled: PooledChild,
  id: string | number,
  params: unknown,
  signal: AbortSignal,
  maxAgeMs: number
): Response {
  const filter = isObject(params) && isObject(params.notifications) ? params.notifications : {}
  const capabilities = isObject(pooled.initializeResult.capabilities)
    ? pooled.initializeResult.capabilities
    : {}
  const honoured: JsonObject = {}
  const relayed = new Set<string>()
  for (const [flag, capability, notification] of LIST_CHANGED) {
    const declared = capabilities[capability]
    if (filter[flag] === true && isObject(declared) && declared.listChanged === true) {
      honoured[flag] = true
      relayed.add(notification)
    }
  }
  const meta = { [SUBSCRIPTION_ID_META_KEY]: id }
  let listener: NotificationListener | undefined
  let aged: NodeJS.Timeout | undefined
  const stop = () => {
    clearTimeout(aged)
    if (listener) pooled.listeners.delete(listener)
    listener = undefined
  }
  return sseResponse((write, close) => {
    const end = () => {
      stop()
      close()
    }
    write({
      jsonrpc: '2.0',
      method: 'notifications/subscriptions/acknowledged',
      params: { _meta: meta, notifications: honoured },
    })
    listener = (notification) => {
      if (!relayed.has(notification.method)) return
      write({ jsonrpc: '2.0', method: notification.method, params: { _meta: meta } })
    }
    pooled.listeners.add(listener)
    signal.addEventListener('abort', end, { once: true })
    pooled.streamsEnded.addEventListener('abort', end, { once: true })
    void pooled.child.exited.then(end)
    aged = setTimeout(end, maxAgeMs).unref()
  }, stop)
}
