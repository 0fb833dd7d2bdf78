import type { Context } from 'hono'
import { html } from 'hono/html'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { renderPage } from './layout.ts'

/**
 * Shown when an authorization request cannot be answered by redirect (unknown client, untrusted
 * redirect URI): RFC 6749 §4.1.2.1 forbids redirecting to an unverified URI.
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
<p>Go back to the application and try again. If this keeps happening, the application may need to register again.</p>`,
    'none',
    status
  )
}
