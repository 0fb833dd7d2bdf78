import fc from 'fast-check'

/** The words of the fuzz: what a request is made of, and values the gateway knows. */

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

export const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'] as const

export const PARAMETER_NAMES = [
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

export const REGISTRATION_FIELDS = [
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

export const STRANGE = [
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

export const name = (dictionary: Dictionary) =>
  fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...PARAMETER_NAMES) }, text(dictionary))

/** Name/value pairs, names often repeated (duplicate parameters). */
export function pairs(dictionary: Dictionary): fc.Arbitrary<[string, string][]> {
  return fc.array(fc.tuple(name(dictionary), text(dictionary)), { maxLength: 8 })
}

export function formOf(entries: [string, string][]): string {
  const form = new URLSearchParams()
  for (const [key, value] of entries) form.append(key, value)
  return form.toString()
}

/** Header values must be a ByteString without NUL, CR or LF (fetch refuses anything else). */
export function headerSafe(value: string): string {
  return value.replace(/[^\t\x20-\x7e\x80-\xff]/g, '?').trim()
}
