/** The two answers of the MCP transport, in the spelling the official SDK checks for. */
export const MCP_MEDIA_TYPES = ['application/json', 'text/event-stream'] as const

/** A weight as RFC 9110 §12.5.1 writes it: 0 to 1, at most three decimals. */
const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/

/**
 * The media types an `Accept` header lists as acceptable (RFC 9110 §12.5.1), lower case: each
 * media range named with a weight above zero, whatever its case and parameters (§8.3.1: type and
 * subtype are case-insensitive). `q=0` means "not acceptable". A wildcard range (`application/*`,
 * or the one of every type) is kept as written and so names neither MCP type: the transport asks
 * a client to list both, and the official SDK's transport counts only them. A weight that is no
 * qvalue is read as the default, 1, so a sloppy header the SDK serves is not refused here.
 */
export function acceptedMediaTypes(header: string | null): Set<string> {
  const accepted = new Set<string>()
  if (!header) return accepted
  for (const element of splitOutsideQuotes(header, ',')) {
    const [range = '', ...parameters] = splitOutsideQuotes(element, ';')
    const type = range.trim().toLowerCase()
    if (type !== '' && weightOf(parameters) > 0) accepted.add(type)
  }
  return accepted
}

/**
 * The request with an `Accept` of only the MCP types the bridge reads in it. A session's SDK
 * transport checks the header again with a case-sensitive substring test, which would refuse
 * `TEXT/EVENT-STREAM` and take `text/event-stream;q=0`; so it sees the bridge's reading instead.
 * The body goes along unless it was read already (the caller then hands over the parsed message).
 */
export function withAcceptAsRead(request: Request): Request {
  const accepted = acceptedMediaTypes(request.headers.get('accept'))
  const accept = MCP_MEDIA_TYPES.filter((type) => accepted.has(type)).join(', ')
  if (accept === (request.headers.get('accept') ?? '')) return request
  const headers = new Headers(request.headers)
  headers.set('accept', accept)
  return new Request(request.url, {
    method: request.method,
    headers,
    signal: request.signal,
    ...(request.body && !request.bodyUsed ? { body: request.body, duplex: 'half' } : {}),
  })
}

/** The weight among a media range's parameters: its `q`, 1 when it has none or a malformed one. */
function weightOf(parameters: readonly string[]): number {
  for (const parameter of parameters) {
    const equals = parameter.indexOf('=')
    if (equals < 0 || parameter.slice(0, equals).trim().toLowerCase() !== 'q') continue
    const value = parameter.slice(equals + 1).trim()
    return QVALUE.test(value) ? Number(value) : 1
  }
  return 1
}

/**
 * `text` cut at each `separator` outside a quoted string: a parameter's quoted value may hold a
 * comma or a semicolon (`a="x,y"`), and a backslash in it escapes the next character.
 */
function splitOutsideQuotes(text: string, separator: string): string[] {
  // Headers clients send have no quoted string: the plain split is then the same, and faster.
  if (!text.includes('"')) return text.split(separator)
  const parts: string[] = []
  let start = 0
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const char = text[i]
    if (quoted) {
      if (char === '\\') i++
      else if (char === '"') quoted = false
    } else if (char === '"') quoted = true
    else if (char === separator) {
      parts.push(text.slice(start, i))
      start = i + 1
    }
  }
  parts.push(text.slice(start))
  return parts
}
