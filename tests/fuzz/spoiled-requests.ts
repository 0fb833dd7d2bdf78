import fc from 'fast-check'
import {
  type Dictionary,
  type FuzzRequest,
  formOf,
  headerSafe,
  METHODS,
  pairs,
  text,
} from './vocabulary.ts'

/** A valid request of an endpoint (as a client sends it), for the fuzz to spoil. */
export interface Template {
  readonly method: string
  readonly path: string
  readonly query?: Record<string, string>
  readonly form?: Record<string, string>
  readonly json?: Record<string, unknown>
  readonly headers?: Record<string, string>
}

/** Each part kept, dropped, replaced by arbitrary text, or repeated; arbitrary parts added. */
function spoiled(
  entries: Record<string, unknown>,
  dictionary: Dictionary,
  addParameters = true
): fc.Arbitrary<[string, unknown][]> {
  const list = Object.entries(entries)
  const fate = fc.constantFrom('keep', 'keep', 'keep', 'drop', 'replace', 'repeat')
  return fc
    .tuple(
      fc.array(fate, { minLength: list.length, maxLength: list.length }),
      fc.array(text(dictionary), { minLength: list.length, maxLength: list.length }),
      pairs(dictionary).map((extra) => (addParameters ? extra.slice(0, 2) : []))
    )
    .map(([fates, replacements, extra]) => [
      ...list.flatMap(([key, value], index): [string, unknown][] => {
        const replacement = replacements[index] ?? ''
        if (fates[index] === 'drop') return []
        if (fates[index] === 'replace') return [[key, replacement]]
        if (fates[index] === 'repeat')
          return [
            [key, value],
            [key, replacement],
          ]
        return [[key, value]]
      }),
      ...extra,
    ])
}

/** A template with some of its parameters, fields and headers spoiled. */
export function spoiledRequest(
  template: Template,
  dictionary: Dictionary
): fc.Arbitrary<FuzzRequest> {
  const asForm = (entries: [string, unknown][]) => formOf(entries.map(([k, v]) => [k, String(v)]))
  return fc
    .record({
      query: spoiled(template.query ?? {}, dictionary),
      form: spoiled(template.form ?? {}, dictionary),
      json: spoiled(template.json ?? {}, dictionary),
      headers: spoiled(template.headers ?? {}, dictionary, false),
      method: fc.oneof(
        { weight: 6, arbitrary: fc.constant(template.method) },
        { weight: 1, arbitrary: fc.constantFrom(...METHODS) }
      ),
    })
    .map(({ query, form, json, headers, method }) => {
      const search = asForm(query)
      const headerObject: Record<string, string> = {}
      for (const [key, value] of headers)
        headerObject[key] = headerSafe(String(value).slice(0, 4_000))
      const body = template.form
        ? asForm(form)
        : template.json
          ? JSON.stringify(Object.fromEntries(json))
          : undefined
      if (template.form) headerObject['content-type'] ??= 'application/x-www-form-urlencoded'
      if (template.json) headerObject['content-type'] ??= 'application/json'
      return {
        method,
        path: `${template.path}${search ? `?${search}` : ''}`,
        headers: headerObject,
        ...(body === undefined || method === 'GET' || method === 'HEAD' ? {} : { body }),
      }
    })
}
