import { randomBytes } from 'node:crypto'
import type { Context } from 'hono'
import { html, raw } from 'hono/html'
import type { HtmlEscapedString } from 'hono/utils/html'
import type { ContentfulStatusCode } from 'hono/utils/http-status'

type Markup = HtmlEscapedString | Promise<HtmlEscapedString>

/**
 * Where a page's forms can lead, the redirects a submission causes included (Chromium and Safari
 * check `form-action` against each of them): `none`, the page has no form; `issuer`, every answer
 * stays on the gateway; `onward`, a submission can end at the identity provider or at a client's
 * callback, which may itself redirect anywhere (an https callback handing over to an app's own
 * scheme), so no list of sources could allow it and the directive is left out.
 */
export type FormTargets = { readonly issuer: string } | 'none' | 'onward'

/**
 * Every HTML page goes through here: values are escaped by the `html` template, the page cannot be
 * framed, forms post no further than they must, and nothing is cached. The one script is
 * `ARMING`, the page's own (a nonce, no source or value from the request).
 *
 * A page's answer buttons (Approve, Deny, Continue) take no click or key while the page is not in
 * front, and for 0.8 s after it is last shown or focused: a site that has the user double-click
 * (or press keys) on it can bring this page under the second click, which framing rules do not
 * stop (double-clickjacking). The script disables the buttons until then; without scripts, a CSS
 * animation (`arm`) holds pointer events for the page's first 0.8 s.
 */
export function renderPage(
  c: Context,
  title: string,
  body: Markup,
  forms: FormTargets,
  status: ContentfulStatusCode = 200
) {
  const nonce = randomBytes(16).toString('base64')
  const page = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${title}</title>
<style nonce="${nonce}">${STYLE}</style>
</head>
<body><main>${body}</main>
<script nonce="${nonce}">${ARMING}</script></body>
</html>`
  return c.html(page, status, {
    'Content-Security-Policy': `default-src 'none'; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'${formAction(forms)}`,
    'X-Frame-Options': 'DENY',
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'no-store',
    'Referrer-Policy': 'same-origin',
  })
}

function formAction(forms: FormTargets): string {
  if (forms === 'onward') return ''
  if (forms === 'none') return "; form-action 'none'"
  // The issuer besides 'self': answers redirect to the issuer's address, which is another origin
  // when the page was reached by another name (127.0.0.1 for localhost).
  return `; form-action 'self' ${new URL(forms.issuer).origin}`
}

/** See `renderPage`: the answer buttons disabled while the page is not in front, armed 0.8 s after. */
const ARMING = raw(`(() => {
const buttons = document.querySelectorAll('.actions button')
if (buttons.length === 0) return
let timer
const arm = (event) => {
  for (const button of buttons) button.disabled = true
  clearTimeout(timer)
  // Left (a popup opened over it): disabled until it is in front again.
  if (document.visibilityState !== 'visible' || event?.type === 'blur') return
  timer = setTimeout(() => { for (const button of buttons) button.disabled = false }, 800)
}
arm()
document.addEventListener('visibilitychange', arm)
addEventListener('focus', arm)
addEventListener('blur', arm)
addEventListener('pageshow', arm)
})()`)

const STYLE = `
body{font:16px/1.5 system-ui,sans-serif;background:#f4f5f7;color:#1f2328;margin:0}
main{max-width:32rem;margin:4rem auto;background:#fff;border:1px solid #d0d7de;border-radius:12px;padding:2rem}
h1{font-size:1.4rem;margin:0 0 1rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.4rem 1rem;margin:1rem 0}
dt{color:#59636e}dd{margin:0;word-break:break-word}
.warning{background:#fff8c5;border:1px solid #d4a72c;border-radius:6px;padding:.6rem .8rem;font-size:.9rem}
.actions{display:flex;gap:1rem;margin-top:1.5rem}
button{font:inherit;padding:.6rem 1.2rem;border-radius:6px;border:1px solid #d0d7de;background:#f6f8fa;cursor:pointer}
button.primary{background:#1f883d;border-color:#1f883d;color:#fff}
.actions button{animation:arm .8s steps(1,end) both}
@keyframes arm{from{pointer-events:none;opacity:.55}}
button:disabled{opacity:.55;cursor:default}
code{background:#f6f8fa;padding:.1rem .3rem;border-radius:4px}
h2{font-size:1.1rem;margin:1.5rem 0 .5rem}h3{font-size:1rem;margin:0}
.entry{border-top:1px solid #d0d7de;padding-top:1rem;margin-top:1rem}
.notice{background:#dafbe1;border:1px solid #4ac26b;border-radius:6px;padding:.6rem .8rem}
.hint{color:#59636e;font-size:.85rem}
`
