import fc from 'fast-check'
import { spoiledRequest, type Template } from './spoiled-requests.ts'
import {
  type Dictionary,
  type FuzzRequest,
  formOf,
  headerSafe,
  METHODS,
  name,
  PARAMETER_NAMES,
  PROBE,
  pairs,
  REGISTRATION_FIELDS,
  text,
} from './vocabulary.ts'

export type { Dictionary, FuzzRequest, Template }
export { PROBE }

/**
 * Requests for fuzzing an endpoint: arbitrary methods, query strings, headers, content types and
 * bodies (forms with repeated parameters, JSON with wrong types, huge, unicode and garbage bytes),
 * mixed with values that are valid in the running gateway (a real client id, a live token, the
 * consent form's fields) so that the fuzz gets past the first check of each endpoint.
 */

/** JSON of any shape, or an object of known fields with values of the wrong types. */
function json(dictionary: Dictionary): fc.Arbitrary<string> {
  const value = fc.oneof(
    text(dictionary),
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(text(dictionary), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 8 }), text(dictionary), { maxKeys: 3 })
  )
  const fields = fc.dictionary(
    fc.oneof(fc.constantFrom(...REGISTRATION_FIELDS, ...PARAMETER_NAMES), fc.string()),
    value,
    { maxKeys: 8 }
  )
  return fc.oneof(
    fields.map((object) => JSON.stringify(object)),
    fc.jsonValue().map((any) => JSON.stringify(any)),
    // Truncated or doubled: not JSON at all.
    fields.map((object) => JSON.stringify(object).slice(0, -1)),
    fields.map((object) => `${JSON.stringify(object)}${JSON.stringify(object)}`)
  )
}

const CONTENT_TYPES = [
  'application/x-www-form-urlencoded',
  'application/x-www-form-urlencoded; charset=iso-8859-1',
  'application/json',
  'application/json; charset=utf-16',
  'application/merge-patch+json',
  'text/plain',
  'text/html',
  'multipart/form-data',
  'multipart/form-data; boundary=x',
  'application/octet-stream',
  'application/jwt',
  '*/*',
  ';;;',
] as const

function headers(dictionary: Dictionary): fc.Arbitrary<Record<string, string>> {
  const anyText = text(dictionary).map((value) => headerSafe(value.slice(0, 4_000)))
  const authorization = fc.oneof(
    fc.constantFrom(...dictionary.bearers).map((token) => `Bearer ${token}`),
    anyText.map((token) => `Bearer ${token}`),
    fc
      .tuple(text(dictionary), text(dictionary))
      .map(([user, password]) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`),
    anyText.map((value) => `Basic ${value}`),
    anyText
  )
  const cookie = fc.oneof(
    fc.constantFrom(...dictionary.cookies),
    fc
      .array(fc.tuple(name(dictionary), anyText), { maxLength: 4 })
      .map((list) => list.map(([key, value]) => `${headerSafe(key)}=${value}`).join('; '))
  )
  return fc.record(
    {
      authorization,
      cookie,
      origin: fc.oneof(fc.constant('http://localhost:8080'), anyText),
      accept: fc.oneof(fc.constantFrom('text/html', 'application/json', '*/*'), anyText),
      'x-forwarded-for': anyText,
      'x-forwarded-proto': fc.oneof(fc.constantFrom('http', 'https'), anyText),
      'x-forwarded-host': fc.oneof(fc.constant('localhost:8080'), anyText),
      'x-forwarded-uri': fc.oneof(fc.constantFrom('/echo/mcp', '/mcp', '/'), anyText),
      'x-forwarded-method': fc.oneof(fc.constantFrom(...METHODS), anyText),
      'mcp-protocol-version': anyText,
      'sec-fetch-site': fc.constantFrom('same-origin', 'cross-site', 'none'),
    },
    { requiredKeys: [] }
  )
}

type Payload = { contentType?: string; body?: string | Uint8Array<ArrayBuffer> }

/** A body, usually with the content type it is written in, sometimes with another one. */
function payload(dictionary: Dictionary): fc.Arbitrary<Payload> {
  const form = 'application/x-www-form-urlencoded'
  const typed = fc.oneof(
    {
      weight: 4,
      arbitrary: pairs(dictionary).map((entries) => ({ contentType: form, body: formOf(entries) })),
    },
    {
      weight: 3,
      arbitrary: json(dictionary).map((body) => ({ contentType: 'application/json', body })),
    },
    {
      weight: 1,
      arbitrary: fc
        .uint8Array({ maxLength: 300 })
        .map((bytes) => ({ body: new Uint8Array(bytes) })),
    },
    { weight: 1, arbitrary: text(dictionary).map((body) => ({ body })) },
    { weight: 1, arbitrary: fc.constant({}) }
  )
  return fc
    .tuple(typed, fc.option(contentType(dictionary), { freq: 4 }))
    .map(([chosen, other]) => (other === null ? chosen : { ...chosen, contentType: other }))
}

function contentType(dictionary: Dictionary): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
    { weight: 1, arbitrary: text(dictionary).map((value) => headerSafe(value.slice(0, 200))) }
  )
}

/** `/register/:client_id` → a value for each parameter; `*` → one or two arbitrary segments. */
function concretePath(route: string, dictionary: Dictionary): fc.Arbitrary<string> {
  const segment = fc.oneof(
    fc.constantFrom(...dictionary.values).map(encodeURIComponent),
    // Lone surrogates have no UTF-8 form: encodeURIComponent throws on them.
    text(dictionary).map((value) => encodeURIComponent(value.slice(0, 300).toWellFormed())),
    fc.constantFrom('%zz', '%00', '..', '.', '%2F', '')
  )
  const holes = route.split('/').filter((part) => part.startsWith(':') || part === '*').length
  return fc.array(segment, { minLength: holes, maxLength: holes }).map((values) => {
    let index = 0
    return route
      .split('/')
      .map((part) => (part.startsWith(':') || part === '*' ? (values[index++] ?? '') : part))
      .join('/')
  })
}

function query(dictionary: Dictionary): fc.Arbitrary<string> {
  return fc.oneof(
    pairs(dictionary).map((entries) => (entries.length > 0 ? `?${formOf(entries)}` : '')),
    fc.constantFrom('?', '?&&=&', '?%', '?a=%zz', `?state=${encodeURIComponent(PROBE)}`)
  )
}

/** Requests for one route of the app's table, its own methods more often than others. */
export function requestsFor(
  route: string,
  methods: readonly string[],
  dictionary: Dictionary,
  templates: readonly Template[] = []
): fc.Arbitrary<FuzzRequest> {
  const arbitrary = anyRequestFor(route, methods, dictionary)
  if (templates.length === 0) return arbitrary
  return fc.oneof(
    { weight: 1, arbitrary },
    {
      weight: 2,
      arbitrary: fc
        .constantFrom(...templates)
        .chain((template) => spoiledRequest(template, dictionary)),
    }
  )
}

function anyRequestFor(
  route: string,
  methods: readonly string[],
  dictionary: Dictionary
): fc.Arbitrary<FuzzRequest> {
  const method = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...(methods.length > 0 ? methods : METHODS)) },
    { weight: 1, arbitrary: fc.constantFrom(...METHODS) }
  )
  return fc
    .record({
      method,
      path: concretePath(route, dictionary),
      query: query(dictionary),
      headers: headers(dictionary),
      payload: payload(dictionary),
    })
    .map(({ method, path, query, headers, payload: { contentType, body } }) => ({
      method,
      path: `${path}${query}`,
      headers: contentType === undefined ? headers : { ...headers, 'content-type': contentType },
      ...(body === undefined || method === 'GET' || method === 'HEAD' ? {} : { body }),
    }))
}
