import { z } from 'zod'

/**
 * The environment as configuration reads it: a variable set to the empty string counts as unset.
 * An env file copied from the example carries `NAME=` lines, and compose passes `${NAME:-}` for
 * values a deployment does not have; neither means "this value, empty".
 */
export function withoutEmptyValues(
  env: Readonly<Record<string, string | undefined>>
): Record<string, string> {
  const set: Record<string, string> = {}
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && value !== '') set[name] = value
  }
  return set
}

/**
 * A whole number as an environment variable holds one: decimal digits only, so `0x10`, `1e3`,
 * `-0` or ` 60` is refused with the variable's name rather than read as something else.
 */
export function wholeNumber(min: number, max = Number.MAX_SAFE_INTEGER) {
  return z
    .string()
    .regex(/^\d+$/, 'must be a whole number (decimal digits)')
    .transform(Number)
    .pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`))
}

/**
 * A number that may have a fraction (seconds: `0.5`, `20`), written as people write one: decimal
 * digits with at most one point. `0x10` or `1e3` is refused rather than read as 16 or 1000.
 */
export function decimalNumber(bounds: { above?: number; atLeast?: number; atMost?: number }) {
  let number = z.number()
  if (bounds.above !== undefined)
    number = number.gt(bounds.above, `must be more than ${bounds.above}`)
  if (bounds.atLeast !== undefined) {
    number = number.min(bounds.atLeast, `must be at least ${bounds.atLeast}`)
  }
  if (bounds.atMost !== undefined)
    number = number.max(bounds.atMost, `must be at most ${bounds.atMost}`)
  return z
    .string()
    .regex(/^\d+(?:\.\d+)?$/, 'must be a decimal number (digits, at most one point)')
    .transform(Number)
    .pipe(number)
}

/** A secret sent as a bearer token (`Authorization: Bearer <token>`), whose syntax has no spaces. */
export function bearerToken(secret: z.ZodString) {
  return secret.regex(/^\S+$/, 'no spaces: it is sent as a bearer token, which has none')
}
