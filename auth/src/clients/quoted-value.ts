/**
 * A client's value as an error description quotes it: only when it has the shape of what the
 * field holds (one word, an identifier), since the description is shown on the
 * gateway's own pages, where a stranger's sentence ("your account is locked, call …") must not
 * appear. The shapes are bounded and made of the characters RFC 6749 §5.2 allows a description,
 * so a quoted value reaches a client as it was sent.
 */
export function quoted(value: unknown, shape: RegExp): string {
  const text = String(value ?? '')
  return shape.test(text) ? `'${text}'` : 'a value of another shape (not shown)'
}

export const ONE_WORD = /^[\x21\x23-\x5b\x5d-\x7e]{0,200}$/
export const IDENTIFIER = /^[a-z_]{0,40}$/
