import { IncomingMessage } from 'node:http'
import type { Context } from 'hono'
import { InvalidRequest, RequestTooLarge } from '../errors.ts'
import { repeatedParameter } from './params.ts'

/** Bodies of OAuth requests are small; anything bigger is refused before it is buffered. */
export const MAX_BODY_BYTES = 64 * 1024

/** The media type of a request, lower-cased and without parameters (`; charset=…`). */
export function mediaType(c: Context): string {
  return (c.req.header('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? ''
}

/** Reads a JSON body (RFC 7591 registration requests). */
export async function readJsonBody(c: Context, maxBytes = MAX_BODY_BYTES): Promise<unknown> {
  if (mediaType(c) !== 'application/json') {
    throw new InvalidRequest('the request body must be application/json')
  }
  const text = await readText(c, maxBytes)
  try {
    return JSON.parse(text)
  } catch {
    throw new InvalidRequest('the request body is not valid JSON')
  }
}

/**
 * Reads an `application/x-www-form-urlencoded` body (token, revocation, introspection and
 * device authorization requests). RFC 6749 §3.1: a parameter sent twice is an error.
 */
export async function readFormBody(
  c: Context,
  options: { repeatable?: readonly string[]; maxBytes?: number } = {}
): Promise<{ form: Record<string, string>; params: URLSearchParams }> {
  const params = await readFormParams(c, options.maxBytes)
  const form: Record<string, string> = {}
  for (const [name, value] of params) {
    if (options.repeatable?.includes(name)) continue
    if (Object.hasOwn(form, name)) throw new InvalidRequest(repeatedParameter(name))
    form[name] = value
  }
  return { form, params }
}

/** The raw parameters of a form body, repeats kept (the consent form's `resource` list). */
export async function readFormParams(
  c: Context,
  maxBytes = MAX_BODY_BYTES
): Promise<URLSearchParams> {
  if (mediaType(c) !== 'application/x-www-form-urlencoded') {
    throw new InvalidRequest('the request body must be application/x-www-form-urlencoded')
  }
  return new URLSearchParams(await readText(c, maxBytes))
}

// Without `stream`, each decode starts afresh: one decoder serves every request.
const utf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * How much of an oversized body is read and thrown away before the 413 is sent. A client still
 * uploading when the server closes gets a reset that can swallow the answer (a broken pipe instead
 * of a 413); up to this size the upload is allowed to finish, so the client reads why. Beyond it
 * the connection is closed at once: reading on would only serve whoever sends it.
 */
export const DISCARDED_BODY_BYTES = 1024 * 1024

async function readText(c: Context, maxBytes: number): Promise<string> {
  const declared = Number(c.req.header('content-length') ?? Number.NaN)
  if (declared > DISCARDED_BODY_BYTES) throw tooLarge(c, maxBytes, { closing: true })
  const bytes = await readBytes(c, maxBytes)
  try {
    return utf8.decode(bytes)
  } catch {
    throw new InvalidRequest('the request body is not valid UTF-8')
  }
}

/**
 * Served by the Node adapter, the body is read from Node's request itself: through the WHATWG
 * `Request` the adapter would first build one, with a stream around the socket's (a tenth of a
 * token request's CPU time). Elsewhere (`app.request`, other runtimes) through the `Request`.
 */
async function readBytes(c: Context, maxBytes: number): Promise<Uint8Array> {
  const incoming = (c.env as { incoming?: unknown } | undefined)?.incoming
  const body =
    incoming instanceof IncomingMessage && !incoming.readableDidRead ? incoming : c.req.raw.body
  if (!body) return new Uint8Array()
  const chunks: Uint8Array[] = []
  let size = 0
  try {
    for await (const chunk of body as AsyncIterable<Uint8Array>) {
      size += chunk.byteLength
      if (size > DISCARDED_BODY_BYTES) throw tooLarge(c, maxBytes, { closing: true })
      // Past the limit the rest is read only to be dropped (see DISCARDED_BODY_BYTES).
      if (size <= maxBytes) chunks.push(chunk)
    }
    if (size > maxBytes) throw tooLarge(c, maxBytes, { closing: false })
  } catch (error) {
    if (error instanceof RequestTooLarge) throw error
    // The client went away mid-body (Node's `aborted`, a reset): its mistake, not a server error,
    // and nobody is left to read the answer.
    throw new InvalidRequest('the request body ended before its declared length', {
      cause: error,
      reason: 'body_aborted',
    })
  }
  return chunks.length === 1 ? (chunks[0] as Uint8Array) : Buffer.concat(chunks)
}

/**
 * A body left partly unread makes the server close the connection once the answer is sent.
 * `Connection: close` says so (RFC 9112 §9.6), so the client opens a new connection for its next
 * request instead of having it reset.
 */
function tooLarge(
  c: Context,
  maxBytes: number,
  { closing }: { readonly closing: boolean }
): RequestTooLarge {
  if (closing) c.header('Connection', 'close')
  return new RequestTooLarge(`the request body exceeds ${maxBytes} bytes`)
}
