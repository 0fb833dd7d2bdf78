import type { Context } from 'hono'
import { html } from 'hono/html'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { renderPage } from './layout.ts'

/**
 * What a person can do about an error, by its status: an outage passes, a limit resets, a bug of
 * ours is the operator's to hear of; only a refused request may mean the application itself is
 * at fault (an unknown client, an untrusted redirect URI).
 */
function nextStep(status: number): string {
  if (status === 429) return 'Wait a minute, then try again.'
  if (status === 503) {
    return 'The gateway or GitHub is briefly unavailable. Try again in a few seconds.'
  }
  if (status >= 500) {
    return "Something went wrong on the gateway's side. Try again; if it keeps happening, tell the gateway's operator."
  }
  return 'Go back to the application and try again. If this keeps happening, the application may need to register again.'
}

/**
 * Shown when a request from a person's browser cannot go on and cannot be answered by redirect
 * (unknown client, untrusted redirect URI: RFC 6749 §4.1.2.1 forbids redirecting to an unverified
 * URI), or fails on the way (an outage, a limit).
 */
export function renderErrorPage(
  c: Context,
  error: { code: string; description: string },
  status: ContentfulStatusCode = 400
) {
  return renderPage(
    c,
    'Authorization error',
    html`<h1>This request cannot be completed</h1>
<p>${error.description}</p>
<p><code>${error.code}</code></p>
<p>${nextStep(status)}</p>`,
    'none',
    status
  )
}
