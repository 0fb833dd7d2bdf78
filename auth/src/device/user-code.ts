import { randomInt } from 'node:crypto'

/**
 * RFC 8628 §6.1 user codes: 8 characters from 20 consonants (no vowels, so no words; no digits,
 * so nothing to confuse), about 34.5 bits, shown as `WDJB-MJHT`, typed in any case or spacing.
 */
const ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ'
const LENGTH = 8

/** A new user code in its canonical form (no dash). */
export function newUserCode(): string {
  let code = ''
  for (let i = 0; i < LENGTH; i++) code += ALPHABET[randomInt(ALPHABET.length)]
  return code
}

/** How a person sees it: `WDJB-MJHT`. */
export function formatUserCode(code: string): string {
  return `${code.slice(0, 4)}-${code.slice(4)}`
}

/** What a person typed, in canonical form, or undefined when it cannot be a user code. */
export function normalizeUserCode(input: string): string | undefined {
  const code = input.toUpperCase().replace(/[^A-Z]/g, '')
  return code.length === LENGTH && [...code].every((char) => ALPHABET.includes(char))
    ? code
    : undefined
}
