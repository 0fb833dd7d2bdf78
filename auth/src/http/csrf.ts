import { createHmac } from 'node:crypto'
import type { Context } from 'hono'
import { AccessDenied, AuthorizationErrorPage, InvalidRequest } from '../errors.ts'
import { newSecret, sameInConstantTime } from '../oauth/secrets.ts'
import { readFormParams } from './body.ts'
import type { Cookies } from './cookies.ts'

/** How long a form of ours (a consent page) may stay open before it is refused. */
export const FORM_TTL_SECONDS = 15 * 60

/**
 * Signed double-submit CSRF protection for the gateway's own forms: the browser holds a random key
 * in a (SameSite, HttpOnly) cookie, each page a token of its own, a nonce and its HMAC under that
 * key; a POST must bring a token the key signed, from our origin. One key serves every page open
 * in the browser, so a second consent tab, or a page another site opened in a new tab, does not
 * void the forms already open: a page keeps the key and gives it another form lifetime.
 */
export function issueFormToken(c: Context, jar: Cookies): string {
  const held = jar.get(c, 'csrf')
  const key = held !== undefined && FORM_KEY.test(held) ? held : newSecret()
  jar.set(c, 'csrf', key, FORM_TTL_SECONDS)
  const nonce = newSecret(16)
  return `${nonce}.${formTokenTag(key, nonce)}`
}

const FORM_KEY = /^[\w-]{43}$/

function formTokenTag(key: string, nonce: string): string {
  return createHmac('sha256', key).update(nonce).digest('base64url')
}

function signedByKey(token: string, key: string): boolean {
  const [nonce, tag, ...rest] = token.split('.')
  if (!nonce || !tag || rest.length > 0) return false
  return sameInConstantTime(tag, formTokenTag(key, nonce))
}

/**
 * Refuses a form that did not come from our page in this browser. What the form decides is used up
 * where it is kept (a consent request is taken), so the key stays for the other open pages.
 */
export function checkFormToken(
  c: Context,
  params: URLSearchParams,
  jar: Cookies,
  issuer: string
): void {
  const origin = c.req.header('origin')
  const token = params.get('csrf_token')
  const key = jar.get(c, 'csrf')
  // Browsers send Origin on every form POST, our pages' own with `Referrer-Policy: same-origin`
  // (under `no-referrer` it would be "null"); only its absence (other user agents) is let through.
  const sameOrigin = origin === undefined || origin === new URL(issuer).origin
  if (!sameOrigin || !token || !key || !signedByKey(token, key)) {
    throw new AuthorizationErrorPage(
      new AccessDenied('this form has expired or did not come from this gateway; start again', {
        reason: sameOrigin ? 'csrf_mismatch' : 'cross_origin_form',
      })
    )
  }
}

/**
 * Reads a form of ours whose answer decides something: its CSRF token checked, then exactly the
 * fields the page has, each once, and nothing else, in the body or the query. A field we did not
 * put there is a forgery to refuse, not noise to ignore: whichever copy of a repeated field a
 * reader took, someone else could have chosen it.
 */
export async function readOwnForm<Field extends string>(
  c: Context,
  jar: Cookies,
  issuer: string,
  fields: readonly Field[]
): Promise<Record<Field | 'csrf_token', string>> {
  const params = await readFormParams(c)
  checkFormToken(c, params, jar, issuer)
  const expected: readonly string[] = ['csrf_token', ...fields]
  const refuse = (problem: string, reason: string): never => {
    throw new AuthorizationErrorPage(
      new InvalidRequest(`this form was altered (${problem}); start again`, { reason })
    )
  }
  if (new URL(c.req.url).search !== '') refuse('parameters in the address', 'form_query')
  const form: Record<string, string> = {}
  for (const [name, value] of params) {
    // Named by us only: the sender's own field name would be its text on our page.
    if (!expected.includes(name)) refuse('an unexpected field', 'form_extra_field')
    if (Object.hasOwn(form, name)) refuse(`the ${name} field is repeated`, 'form_repeated_field')
    form[name] = value
  }
  for (const name of expected) {
    if (!Object.hasOwn(form, name)) refuse(`the ${name} field is missing`, 'form_missing_field')
  }
  return form as Record<Field | 'csrf_token', string>
}

/** The button the user pressed; anything else is refused rather than read as either answer. */
export function userDecision(value: string): 'approve' | 'deny' {
  if (value === 'approve' || value === 'deny') return value
  throw new AuthorizationErrorPage(
    new InvalidRequest('this form was altered (an unknown decision); start again', {
      reason: 'unknown_decision',
    })
  )
}
