import { decodeHeaderValue, isObject, type JsonObject } from './modern-protocol.ts'
import type { PooledChild } from './pooled-child.ts'

/** A tool parameter mirrored into `Mcp-Param-{header}`: where it is in the arguments. */
interface MirroredParam {
  readonly header: string
  readonly path: readonly string[]
}

/** Each pooled child's tools with mirrored parameters, by tool name, as its last list said. */
const mirroredByChild = new WeakMap<PooledChild, Map<string, readonly MirroredParam[]>>()

/** Pages of `tools/list` the bridge reads at most to learn the mirrored parameters. */
const MAX_PAGES = 20

/**
 * Why a `tools/call`'s `Mcp-Param-*` headers do not match its arguments (SEP-2243), if they do
 * not: a mirrored parameter present in the body needs its header, equal after Base64 decoding.
 * The tool's `x-mcp-header` annotations come from the child's `tools/list`, read once per child
 * and again after the client lists tools (a client refused for a stale schema lists and retries).
 */
export async function paramHeaderProblem(
  pooled: PooledChild,
  headers: Headers,
  params: unknown
): Promise<string | undefined> {
  if (!isObject(params) || typeof params.name !== 'string') return undefined
  let known = mirroredByChild.get(pooled)
  if (!known?.has(params.name)) {
    known = await readMirroredParams(pooled)
    mirroredByChild.set(pooled, known)
  }
  const args = isObject(params.arguments) ? params.arguments : {}
  for (const { header, path } of known.get(params.name) ?? []) {
    const value = valueAt(args, path)
    const sent = headers.get(`mcp-param-${header}`)
    if (value === undefined || value === null) {
      if (sent !== null) return `Header mismatch: Mcp-Param-${header} sent for an absent value`
      continue
    }
    if (sent === null) return `Header mismatch: Mcp-Param-${header} missing`
    const decoded = decodeHeaderValue(sent.trim())
    if (decoded === undefined) return `Header mismatch: Mcp-Param-${header} is not valid Base64`
    if (!matches(decoded, value)) {
      return `Header mismatch: Mcp-Param-${header} does not match the body's arguments`
    }
  }
  return undefined
}

/** The client lists tools: what the bridge knows of their annotations may be out of date. */
export function forgetMirroredParams(pooled: PooledChild): void {
  mirroredByChild.delete(pooled)
}

async function readMirroredParams(pooled: PooledChild) {
  const mirrored = new Map<string, readonly MirroredParam[]>()
  let cursor: unknown
  for (let page = 0; page < MAX_PAGES; page++) {
    const exchange = pooled.forward('tools/list', cursor === undefined ? undefined : { cursor })
    let event = await exchange.next()
    while (event.kind !== 'answer') event = await exchange.next()
    const tools = event.result?.tools
    for (const tool of Array.isArray(tools) ? tools : []) {
      if (!isObject(tool) || typeof tool.name !== 'string') continue
      // Every tool is known, with or without mirrored parameters: no re-reading for either.
      mirrored.set(tool.name, mirroredParamsOf(tool.inputSchema, []))
    }
    cursor = event.result?.nextCursor
    if (typeof cursor !== 'string') break
  }
  return mirrored
}

/** `x-mcp-header` annotations reachable from the schema root through `properties` only. */
function mirroredParamsOf(schema: unknown, path: readonly string[]): MirroredParam[] {
  if (!isObject(schema) || !isObject(schema.properties)) return []
  const found: MirroredParam[] = []
  for (const [key, property] of Object.entries(schema.properties)) {
    if (!isObject(property)) continue
    const header = property['x-mcp-header']
    if (typeof header === 'string' && header !== '') found.push({ header, path: [...path, key] })
    found.push(...mirroredParamsOf(property, [...path, key]))
  }
  return found
}

function valueAt(args: JsonObject, path: readonly string[]): unknown {
  let value: unknown = args
  for (const key of path) value = isObject(value) ? value[key] : undefined
  return value
}

/** Strings as they are, booleans as `true`/`false`, integers compared as numbers. */
function matches(header: string, value: unknown): boolean {
  if (typeof value === 'string') return header === value
  if (typeof value === 'boolean') return header === String(value)
  if (typeof value === 'number') return header.trim() !== '' && Number(header) === value
  return false
}
