import { z } from 'zod'
import { InvalidClientMetadata, InvalidRedirectUri } from '../errors.ts'
import { isPlainText } from './plain-text.ts'
import { IDENTIFIER, ONE_WORD, quoted } from './quoted-value.ts'
import { applicationTypeProblem, redirectUriProblem } from './redirect-uri.ts'

export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code'

export const GRANT_TYPES = ['authorization_code', 'refresh_token', DEVICE_CODE_GRANT] as const
export const TOKEN_ENDPOINT_AUTH_METHODS = [
  'none',
  'client_secret_post',
  'client_secret_basic',
] as const

/** OpenID Connect Dynamic Client Registration §2; MCP clients send it since 2026-07-28. */
export const APPLICATION_TYPES = ['web', 'native'] as const

export type GrantType = (typeof GRANT_TYPES)[number]
export type ApplicationType = (typeof APPLICATION_TYPES)[number]
export type TokenEndpointAuthMethod = (typeof TOKEN_ENDPOINT_AUTH_METHODS)[number]

/**
 * The largest registration (or update) request body. Real clients send a few hundred bytes; the
 * bound keeps what an anonymous caller can make the store hold per registration small.
 */
export const MAX_REGISTRATION_BODY_BYTES = 4 * 1024

/** The client metadata we accept and keep (RFC 7591 §2); unknown fields are dropped. */
export interface ClientMetadata {
  readonly redirect_uris: readonly string[]
  readonly token_endpoint_auth_method: TokenEndpointAuthMethod
  readonly grant_types: readonly GrantType[]
  readonly response_types: readonly 'code'[]
  /** Kept only when the client sent it: it narrows its redirect URIs (`redirect-uri.ts`). */
  readonly application_type?: ApplicationType
  readonly client_name?: string
  readonly client_uri?: string
  readonly logo_uri?: string
  readonly tos_uri?: string
  readonly policy_uri?: string
  readonly scope?: string
  readonly contacts?: readonly string[]
  readonly software_id?: string
  readonly software_version?: string
}

// Shown to the user (consent page, account page, admin CLI): nothing in it may hide or disguise.
const text = (max: number) =>
  z.string().trim().min(1).max(max).refine(isPlainText, 'must be plain text')
// Informational URIs are shown to users (consent page): web pages only.
const webUri = z
  .string()
  .max(2000)
  .refine(
    (value) => /^https:\/\/[^\s]+$/i.test(value) && URL.canParse(value),
    'must be an https URL'
  )
  .refine(isPlainText, 'must be plain text')

const metadataSchema = z.object({
  redirect_uris: z.array(z.string()).max(20).optional(),
  token_endpoint_auth_method: z.string().optional(),
  grant_types: z.array(z.string()).max(5).optional(),
  response_types: z.array(z.string()).max(5).optional(),
  application_type: z.string().max(20).optional(),
  client_name: text(200).optional(),
  client_uri: webUri.optional(),
  logo_uri: webUri.optional(),
  tos_uri: webUri.optional(),
  policy_uri: webUri.optional(),
  scope: z
    .string()
    .max(1000)
    .regex(
      /^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$/,
      'must be space-separated scope tokens'
    )
    .optional(),
  contacts: z.array(text(320)).max(10).optional(),
  software_id: text(200).optional(),
  software_version: text(100).optional(),
})

/**
 * Validates a registration or update request body (RFC 7591 §2, §3.2.2). Throws
 * `InvalidRedirectUri` for a bad redirect URI and `InvalidClientMetadata` for anything else.
 */
export function parseClientMetadata(body: unknown): ClientMetadata {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InvalidClientMetadata('the request body must be a JSON object')
  }
  const parsed = metadataSchema.safeParse(body)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const field = issue?.path.join('.') || 'body'
    const error = field.startsWith('redirect_uris') ? InvalidRedirectUri : InvalidClientMetadata
    throw new error(`${field}: ${issue?.message ?? 'invalid value'}`)
  }
  const { redirect_uris = [], application_type: applicationType, ...rest } = parsed.data
  if (applicationType !== undefined && !isOneOf(APPLICATION_TYPES, applicationType)) {
    throw new InvalidClientMetadata(
      `application_type: ${quoted(applicationType, IDENTIFIER)} is not supported (use web or native)`
    )
  }

  for (const uri of redirect_uris) {
    const problem = redirectUriProblem(uri) ?? applicationTypeProblem(uri, applicationType)
    if (problem) throw new InvalidRedirectUri(`redirect_uris: ${quoted(uri, ONE_WORD)} ${problem}`)
  }

  const method = rest.token_endpoint_auth_method ?? 'client_secret_basic'
  if (!isOneOf(TOKEN_ENDPOINT_AUTH_METHODS, method)) {
    throw new InvalidClientMetadata(
      `token_endpoint_auth_method: ${quoted(method, IDENTIFIER)} is not supported (use ${TOKEN_ENDPOINT_AUTH_METHODS.join(', ')})`
    )
  }
  // Omitted grant_types: most MCP clients expect refresh tokens without asking for them.
  const grantTypes = unique(rest.grant_types ?? ['authorization_code', 'refresh_token'])
  for (const grant of grantTypes) {
    if (!isOneOf(GRANT_TYPES, grant)) {
      throw new InvalidClientMetadata(`grant_types: ${quoted(grant, ONE_WORD)} is not supported`)
    }
  }
  const usesCode = grantTypes.includes('authorization_code')
  const responseTypes = unique(rest.response_types ?? (usesCode ? ['code'] : []))
  for (const type of responseTypes) {
    if (type !== 'code') {
      throw new InvalidClientMetadata(`response_types: ${quoted(type, ONE_WORD)} is not supported`)
    }
  }
  // RFC 7591 §2.1: the two lists must agree.
  if (usesCode !== responseTypes.includes('code')) {
    throw new InvalidClientMetadata(
      'grant_types and response_types disagree: authorization_code goes with the code response type'
    )
  }
  if (grantTypes.length === 0 || (grantTypes.length === 1 && grantTypes[0] === 'refresh_token')) {
    throw new InvalidClientMetadata(
      'grant_types: needs authorization_code or the device code grant'
    )
  }
  if (usesCode && redirect_uris.length === 0) {
    throw new InvalidRedirectUri('redirect_uris: required for the authorization_code grant')
  }

  return dropUndefined({
    ...rest,
    redirect_uris: unique(redirect_uris),
    token_endpoint_auth_method: method,
    grant_types: grantTypes as GrantType[],
    response_types: responseTypes as 'code'[],
    application_type: applicationType,
  })
}

function isOneOf<T extends string>(values: readonly T[], value: string): value is T {
  return (values as readonly string[]).includes(value)
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)]
}

/** Optional where the value may be undefined, so the result fits `exactOptionalPropertyTypes`. */
export type WithoutUndefined<T> = {
  [K in keyof T as undefined extends T[K] ? never : K]: T[K]
} & { [K in keyof T as undefined extends T[K] ? K : never]?: Exclude<T[K], undefined> }

/** Registration responses must never carry `null`s or absent keys (some clients choke on them). */
export function dropUndefined<T extends object>(value: T): WithoutUndefined<T> {
  return Object.fromEntries(
    Object.entries(value).filter(([, v]) => v !== undefined)
  ) as WithoutUndefined<T>
}
