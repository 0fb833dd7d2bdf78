import { isInitializeRequest, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js'

/**
 * A client message as a session's child gets it under the catalog's capability hiding
 * (`hiddenClientCapabilities`): the named capabilities taken out of `initialize`, and with `roots`
 * hidden, the client's roots notifications dropped (undefined), since the child was told there
 * are none.
 */
export function withCapabilitiesHidden(
  message: JSONRPCMessage,
  hidden: readonly string[]
): JSONRPCMessage | undefined {
  if (hidden.length === 0) return message
  if (isInitializeRequest(message)) {
    const params = message.params as { capabilities?: Record<string, unknown> }
    const capabilities = { ...params.capabilities }
    for (const name of hidden) delete capabilities[name]
    return { ...message, params: { ...params, capabilities } } as JSONRPCMessage
  }
  if (
    'method' in message &&
    hidden.includes('roots') &&
    message.method.startsWith('notifications/roots/')
  ) {
    return undefined
  }
  return message
}
