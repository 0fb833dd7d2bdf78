/**
 * The wire vocabulary of the stateless protocol era (revision 2026-07-28) that the bridge needs:
 * the per-request `_meta` envelope, the standard request headers, the error codes of the
 * transport's validation ladder and the result fields the revision adds.
 */

export const MODERN_PROTOCOL_VERSIONS: readonly string[] = ['2026-07-28']
/** The session era's revisions, still served on the same endpoint. */
export const SESSION_PROTOCOL_VERSIONS: readonly string[] = [
  '2025-11-25',
  '2025-06-18',
  '2025-03-26',
]
/** Every revision the endpoint serves, newest first: what an unsupported version is told. */
export const SERVED_PROTOCOL_VERSIONS: readonly string[] = [
  ...MODERN_PROTOCOL_VERSIONS,
  ...SESSION_PROTOCOL_VERSIONS,
]
/** The revision the bridge speaks to its (session-era, stdio) children. */
export const CHILD_PROTOCOL_VERSION = '2025-11-25'

export const PROTOCOL_VERSION_META_KEY = 'io.modelcontextprotocol/protocolVersion'
export const CLIENT_CAPABILITIES_META_KEY = 'io.modelcontextprotocol/clientCapabilities'
export const CLIENT_INFO_META_KEY = 'io.modelcontextprotocol/clientInfo'
export const LOG_LEVEL_META_KEY = 'io.modelcontextprotocol/logLevel'
export const SERVER_INFO_META_KEY = 'io.modelcontextprotocol/serverInfo'
export const SUBSCRIPTION_ID_META_KEY = 'io.modelcontextprotocol/subscriptionId'
/**
 * The bridge's own key on a child's request to the client: the name its input request gets in
 * `inputRequests` (a 2025-era child has no other way to name it), so a client can answer it
 * under a name the server documents. Without it the bridge names inputs `input`, `input-2`, ...
 */
export const INPUT_KEY_META_KEY = 'mcp-oauth-gateway/inputKey'
/**
 * What the bridge takes out of a request's `_meta` before a child sees it. The client's
 * capabilities stay: a child initialized by the bridge cannot otherwise know what this request's
 * client can answer (2025-era children ignore the key).
 */
const ENVELOPE_KEYS = [PROTOCOL_VERSION_META_KEY, CLIENT_INFO_META_KEY, LOG_LEVEL_META_KEY]

export const HEADER_MISMATCH = -32020
export const MISSING_REQUIRED_CLIENT_CAPABILITY = -32021
export const UNSUPPORTED_PROTOCOL_VERSION = -32022
export const INVALID_PARAMS = -32602
export const METHOD_NOT_FOUND = -32601
export { INTERNAL_ERROR } from './json-rpc-error.ts'

/** Methods whose `Mcp-Name` header mirrors a body field. */
const MCP_NAME_SOURCE: Readonly<Record<string, string>> = {
  'tools/call': 'name',
  'prompts/get': 'name',
  'resources/read': 'uri',
  'tasks/get': 'taskId',
  'tasks/update': 'taskId',
  'tasks/cancel': 'taskId',
}

/** Results a client may cache: they carry `ttlMs` and `cacheScope`. */
const CACHEABLE_METHODS = new Set([
  'tools/list',
  'prompts/list',
  'resources/list',
  'resources/templates/list',
  'resources/read',
  'server/discover',
])

/** The methods whose result may be `input_required` instead of complete. */
export const INPUT_CAPABLE_METHODS = new Set(['tools/call', 'prompts/get', 'resources/read'])

export interface JsonObject {
  [key: string]: unknown
}

export function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/** A revision's name: a date. Anything else in `MCP-Protocol-Version` names no revision at all. */
export function isRevisionShaped(version: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(version)
}

/** A revision of the stateless era: 2026-07-28, or a later one (refused as unsupported there). */
export function isModernVersion(version: string | undefined): boolean {
  return (
    version !== undefined &&
    isRevisionShaped(version) &&
    !SESSION_PROTOCOL_VERSIONS.includes(version) &&
    version >= '2026'
  )
}

/**
 * The session a request names. A 2026-07-28 request names none, whatever `Mcp-Session-Id` it
 * carries: that era has no sessions, and its transport says to ignore the header (a dual-era
 * client may still hold one).
 */
export function sessionIdOf(header: (name: string) => string | undefined): string | undefined {
  return isModernVersion(header('mcp-protocol-version')) ? undefined : header('mcp-session-id')
}

/** The `_meta` envelope of a request or notification body, when it has one. */
export function envelopeOf(message: unknown): JsonObject | undefined {
  if (!isObject(message) || !isObject(message.params)) return undefined
  const meta = message.params._meta
  return isObject(meta) ? meta : undefined
}

/**
 * Whether a request opens the stateless way: its body claims a protocol version in `_meta`, or
 * its `MCP-Protocol-Version` header names a revision of the stateless era.
 */
export function opensStatelessly(headers: Headers, body: unknown): boolean {
  if (isModernVersion(headers.get('mcp-protocol-version') ?? undefined)) return true
  const messages = Array.isArray(body) ? body : [body]
  return messages.some((message) => {
    const claimed = envelopeOf(message)?.[PROTOCOL_VERSION_META_KEY]
    return typeof claimed === 'string'
  })
}

const SENTINEL_PREFIX = '=?base64?'
const SENTINEL_SUFFIX = '?='

/**
 * A header value as the client encoded it (`=?base64?…?=` for values unsafe in a header), or
 * undefined for a malformed sentinel. Strict: the standard alphabet, padded to a multiple of four;
 * Buffer alone would skip what it cannot read, and an intermediary decoding strictly would then
 * see another value than the bridge.
 */
export function decodeHeaderValue(value: string): string | undefined {
  const wrapped =
    value.length >= SENTINEL_PREFIX.length + SENTINEL_SUFFIX.length &&
    value.startsWith(SENTINEL_PREFIX) &&
    value.endsWith(SENTINEL_SUFFIX)
  if (!wrapped) return value
  const encoded = value.slice(SENTINEL_PREFIX.length, -SENTINEL_SUFFIX.length)
  if (encoded.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(encoded)) return undefined
  const bytes = Buffer.from(encoded, 'base64')
  if (bytes.toString('base64') !== encoded) return undefined
  return bytes.toString('utf8')
}

/** The body field `Mcp-Name` must mirror for this request, when the method has one. */
export function mcpNameOf(method: string, params: unknown): string | undefined {
  const field = MCP_NAME_SOURCE[method]
  if (field === undefined || !isObject(params)) return undefined
  const value = params[field]
  return typeof value === 'string' ? value : undefined
}

/** The request's params without the envelope keys (but the capabilities), for a child. */
export function withoutEnvelope(params: unknown): JsonObject | undefined {
  if (!isObject(params)) return undefined
  const meta = params._meta
  if (!isObject(meta)) return params
  const rest: JsonObject = {}
  for (const [key, value] of Object.entries(meta)) {
    if (!ENVELOPE_KEYS.includes(key)) rest[key] = value
  }
  const copy: JsonObject = { ...params }
  if (Object.keys(rest).length === 0) delete copy._meta
  else copy._meta = rest
  return copy
}

/**
 * The request's params without `task`, which no 2026-07-28 request has: a 2025-11-25 child reads
 * it as a request for task-augmented execution and answers with a task (`{"task": {...}}`) that a
 * stateless client can neither recognise nor poll. Without it the child answers the call itself.
 */
export function withoutTaskAugmentation(params: JsonObject | undefined): JsonObject | undefined {
  if (!params || !('task' in params)) return params
  const { task: _task, ...rest } = params
  return rest
}

/**
 * A child's (2025-era) result as the 2026-07-28 revision requires it: `resultType`, `ttlMs` and
 * `cacheScope` on cacheable results (nothing is cached: results are per user and may change),
 * fields the revision deleted removed (`execution` of tools, the `tasks` capability, and tools
 * that run only as tasks), and the
 * server's identity in `_meta`.
 */
export function toModernResult(
  method: string,
  result: JsonObject,
  serverInfo: unknown
): JsonObject {
  const translated: JsonObject = { ...result }
  if (translated.resultType === undefined) translated.resultType = 'complete'
  if (method === 'tools/list' && Array.isArray(translated.tools)) {
    translated.tools = translated.tools
      .filter((tool) => !runsOnlyAsTask(tool))
      .map((tool) => {
        if (!isObject(tool) || !('execution' in tool)) return tool
        const { execution: _execution, ...rest } = tool
        return rest
      })
  }
  if (CACHEABLE_METHODS.has(method) && translated.resultType === 'complete') {
    translated.ttlMs = 0
    translated.cacheScope = 'private'
  }
  if (serverInfo !== undefined) {
    const meta = isObject(translated._meta) ? translated._meta : {}
    translated._meta = { [SERVER_INFO_META_KEY]: serverInfo, ...meta }
  }
  return translated
}

/**
 * A 2025-11-25 tool that runs only as a task (`execution.taskSupport: "required"`): no call of a
 * 2026-07-28 client can start it, so it is not listed to one.
 */
function runsOnlyAsTask(tool: unknown): boolean {
  return isObject(tool) && isObject(tool.execution) && tool.execution.taskSupport === 'required'
}

/** A 2025-era child's "resource not found" (−32002 then, or −32602). */
const RESOURCE_NOT_FOUND_2025 = -32002

/**
 * A child's error as 2026-07-28 words it: reading a resource that does not exist is −32602 with
 * the requested `uri` in `data` (SEP-2164); 2025-era servers answer −32002 or omit the URI.
 */
export function toModernError(method: string, error: JsonObject, name: string | undefined) {
  if (method !== 'resources/read' || name === undefined) return error
  if (error.code !== RESOURCE_NOT_FOUND_2025 && error.code !== INVALID_PARAMS) return error
  const data = isObject(error.data) ? error.data : {}
  return { ...error, code: INVALID_PARAMS, data: { uri: name, ...data } }
}

/** A child's server capabilities without what the 2026-07-28 revision deleted. */
export function modernCapabilities(capabilities: unknown): JsonObject {
  if (!isObject(capabilities)) return {}
  const { tasks: _tasks, ...rest } = capabilities
  return rest
}
