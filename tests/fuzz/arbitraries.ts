import fc from 'fast-check'

/**
 * Requests for fuzzing an endpoint: arbitrary methods, query strings, headers, content types and
 * bodies (forms with repeated parameters, JSON with wrong types, huge, unicode and garbage bytes),
 * mixed with values that are valid in the running gateway (a real client id, a live token, the
 * consent form's fields) so that the fuzz gets past the first check of each endpoint.
 */

/** Text no page may show unescaped. */
export const PROBE = '<script>fuzz-probe</script>'

/** Values that mean something to the gateway under test, collected after it starts. */
export interface Dictionary {
  readonly values: readonly string[]
  readonly cookies: readonly string[]
  readonly bearers: readonly string[]
}

export interface FuzzRequest {
  readonly method: string
  readonly path: string
  readonly headers: Record<string, string>
  readonly body?: string | Uint8Array<ArrayBuffer>
}

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'] as const

const PARAMETER_NAMES = [
  'client_id',
  'client_secret',
  'grant_type',
  'code',
  'code_verifier',
  'code_challenge',
  'code_challenge_method',
  'redirect_uri',
  'refresh_token',
  'device_code',
  'user_code',
  'scope',
  'state',
  'resource',
  'response_type',
  'response_mode',
  'token',
  'token_type_hint',
  'csrf_token',
  'consent_request',
  'decision',
  'id',
  'kind',
  'login',
  'prompt',
  'nonce',
  'request',
  'request_uri',
  'error',
  'iss',
  'client_assertion',
  'client_assertion_type',
] as const

const REGISTRATION_FIELDS = [
  'redirect_uris',
  'client_name',
  'grant_types',
  'response_types',
  'token_endpoint_auth_method',
  'application_type',
  'scope',
  'client_uri',
  'logo_uri',
  'tos_uri',
  'policy_uri',
  'contacts',
  'jwks',
  'jwks_uri',
  'software_id',
  'software_version',
  'client_id',
  'client_secret',
  '__proto__',
  'constructor',
] as const

const STRANGE = [
  PROBE,
  `"><img src=x onerror=alert(1)>${PROBE}`,
  '',
  ' ',
  '\u0000',
  '%',
  '%zz',
  '%00',
  '../../etc/passwd',
  'null',
  '[]',
  '{}',
  '-1',
  '1e309',
  'NaN',
  'https://evil.example/',
  'javascript:alert(1)',
  'http://localhost:8080/echo/mcp',
  '\u202e\ufeff\ud83d\ude00',
  '\ud800',
] as const

/** A string: a meaningful value, arbitrary text (unicode included), a strange one or a huge one. */
export function text(dictionary: Dictionary): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 5, arbitrary: fc.constantFrom(...dictionary.values) },
    { weight: 3, arbitrary: fc.string({ maxLength: 40 }) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
    { weight: 2, arbitrary: fc.constantFrom(...STRANGE) },
    { weight: 1, arbitrary: fc.integer({ min: 2_000, max: 80_000 }).map((n) => 'x'.repeat(n)) }
  )
}

const name = (dictionary: Dictionary) =>
  fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...PARAMETER_NAMES) }, text(dictionary))

/** Name/value pairs, names often repeated (duplicate parameters). */
function pairs(dictionary: Dictionary): fc.Arbitrary<[string, string][]> {
  return fc.array(fc.tuple(name(dictionary), text(dictionary)), { maxLength: 8 })
}

function formOf(entries: [string, string][]): string {
  const form = new URLSearchParams()
  for (const [key, value] of entries) form.append(key, value)
  return form.toString()
}

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

/** Header values must be a ByteString without NUL, CR or LF (fetch refuses anything else). */
function headerSafe(value: string): string {
  return value.replace(/[^\t\x20-\x7e\x80-\xff]/g, '?').trim()
}

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
