import type { Context } from 'hono'
import { AccessDenied, AuthorizationErrorPage } from '../errors.ts'
import { hashSecret, newSecret, secretMatches } from '../oauth/secrets.ts'
import type { Cookies } from './cookies.ts'

/** How long a consent form may stay open before it is refused. */
const FORM_TTL_SECONDS = 15 * 60

/**
 * Double-submit CSRF protection for the gateway's own forms: the page carries a random token, the
 * browser a (SameSite) cookie with its hash; a POST must bring both, from our origin.
 */
export function issueFormToken(c: Context, jar: Cookies): string {
  const token = newSecret()
  jar.set(c, 'csrf', hashSecret(token), FORM_TTL_SECONDS)
  return token
}

/** Refuses a form that did not come from our page in this browser; the token is used up. */
export function checkFormToken(
  c: Context,
  params: URLSearchParams,
  jar: Cookies,
  issuer: string
): void {
  const origin = c.req.header('origin')
  const token = params.get('csrf_token')
  const cookie = jar.get(c, 'csrf')
  jar.clear(c, 'csrf')
  // Browsers send Origin on every form POST, our pages' own with `Referrer-Policy: same-origin`
  // (under `no-referrer` it would be "null"); only its absence (other user agents) is let through.
  const sameOrigin = origin === undefined || origin === new URL(issuer).origin
  if (!sameOrigin || !token || !cookie || !secretMatches(token, cookie)) {
    throw new AuthorizationErrorPage(
      new AccessDenied('this form has expired or did not come from this gateway; start again', {
        reason: sameOrigin ? 'csrf_mismatch' : 'cross_origin_form',
      })
    )
  }
}
