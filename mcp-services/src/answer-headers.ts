import type { Context } from 'hono'

/** A header to set on an answer; `append` adds a value to the ones it has (`Vary`). */
export type AnswerHeader = readonly [name: string, value: string, append?: boolean]

/**
 * Sets headers on the handler's answer itself, after `next()`. Hono's `c.header()` there would
 * copy the whole answer (body stream and headers) into a new response for each call. A fetched
 * response's headers cannot change: then, and only then, Hono's own setter copies it first.
 */
export function setAnswerHeaders(c: Context, headers: readonly AnswerHeader[]): void {
  try {
    for (const [name, value, append] of headers) {
      if (append) c.res.headers.append(name, value)
      else c.res.headers.set(name, value)
    }
  } catch {
    for (const [name, value, append] of headers) {
      c.header(name, value, append ? { append: true } : undefined)
    }
  }
}
