import { z } from 'zod'
import { InvalidRequest } from '../errors.ts'

/** Validates request parameters against a zod schema; the first problem becomes `invalid_request`. */
export function parseParams<T>(schema: z.ZodType<T>, input: unknown): T {
  const result = schema.safeParse(input)
  if (result.success) return result.data
  const issue = result.error.issues[0]
  const name = issue?.path.join('.') ?? ''
  const message = issue?.message ?? 'is invalid'
  throw new InvalidRequest(name ? `${name} ${message}` : message)
}

/**
 * The parameters this server's OAuth endpoints read (RFC 6749, 7009, 7636, 7662, 8628, 8707, the
 * `prompt` of OpenID Connect): the names an error may repeat back. Any other name is the sender's
 * own text, and an error page would show it on the gateway's origin ("Security alert: call …").
 */
const OAUTH_PARAMETERS: ReadonlySet<string> = new Set([
  'client_id',
  'client_secret',
  'code',
  'code_challenge',
  'code_challenge_method',
  'code_verifier',
  'device_code',
  'grant_type',
  'prompt',
  'redirect_uri',
  'refresh_token',
  'resource',
  'response_mode',
  'response_type',
  'scope',
  'state',
  'token',
  'token_type_hint',
])

/** Why a request with a parameter sent twice is refused (RFC 6749 §3.1), naming only ours. */
export function repeatedParameter(name: string): string {
  return OAUTH_PARAMETERS.has(name)
    ? `the ${name} parameter is repeated`
    : 'a parameter is repeated'
}

/** A required string parameter of a form or query. */
export const requiredParam = (max = 2048) =>
  z
    .string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string') })
    .min(1, 'is required')
    .max(max, 'is too long')

/** An optional string parameter of a form or query. */
export const optionalParam = (max = 2048) => z.string().max(max, 'is too long').optional()

/**
 * The parameters of a query string, refused when a percent-encoded value is not UTF-8:
 * `URLSearchParams` would turn it into U+FFFD, and a `state` handed back changed fails the client's
 * check (RFC 6749 §4.1.2 wants it exactly). A `%` not followed by two hex digits stays literal.
 */
export function utf8QueryParams(search: string): URLSearchParams {
  for (const part of search.replace(/^\?/, '').split('&')) {
    try {
      decodeURIComponent(part.replace(/\+/g, ' ').replace(/%(?![0-9a-f]{2})/gi, '%25'))
    } catch {
      throw new InvalidRequest('a parameter is not valid UTF-8 once percent-decoded')
    }
  }
  return new URLSearchParams(search)
}
