import type { Context } from 'hono'
import { html } from 'hono/html'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import type { ClientRecord } from '../clients/client-registry.ts'
import { shownClientText } from './client-text.ts'
import { decisionForm, type GrantAsked, grantRows } from './grant-parts.ts'
import { renderPage } from './layout.ts'

/** Step 1 of RFC 8628 §3.3: the user types the code their device shows. */
export function renderUserCodePage(
  c: Context,
  view: { userCode: string; csrfToken: string; problem?: string; issuer: string },
  status: ContentfulStatusCode = 200
) {
  return renderPage(
    c,
    'Connect a device',
    html`<h1>Connect a device</h1>
<p>Enter the code shown by the command-line tool or device you are connecting.</p>
${view.problem ? html`<p class="warning" id="problem">${view.problem}</p>` : ''}
<form method="post" action="/device">
<input type="hidden" name="csrf_token" value="${view.csrfToken}">
<p><label>Code <input name="user_code" value="${view.userCode}" autocomplete="off" autocapitalize="characters" spellcheck="false" required></label></p>
<div class="actions"><button class="primary" type="submit">Continue</button></div>
</form>`,
    { issuer: view.issuer },
    status
  )
}

/**
 * Step 2: what is being connected, and an explicit choice, even when the code came in the link
 * (RFC 8628 §5.4: a link alone must not authorize a device someone else started).
 */
export function renderDeviceConsentPage(
  c: Context,
  view: GrantAsked & { client: ClientRecord; userCode: string; csrfToken: string }
) {
  const name = shownClientText(view.client.metadata.client_name) ?? 'An unnamed application'
  return renderPage(
    c,
    `Connect ${name}?`,
    html`<h1>Connect <span id="client-name">${name}</span> to your MCP services?</h1>
<p class="warning">A command-line tool or device is asking for access with the code <strong id="user-code">${view.userCode}</strong>. Approve only if you started it yourself and it shows this same code.</p>
<dl>
<dt>Application</dt><dd>${name}</dd>
${grantRows(view)}
</dl>
<p class="warning" id="client-registered">This name is what the application said of itself when it registered with this gateway: nothing has checked it. A code someone sent you is no reason to approve.</p>
${decisionForm('/device/decision', { user_code: view.userCode, csrf_token: view.csrfToken })}`,
    'onward'
  )
}

/** The end of the browser part: the device gets (or is refused) its tokens at its next poll. */
export function renderDeviceDonePage(c: Context, approved: boolean) {
  return renderPage(
    c,
    approved ? 'Device connected' : 'Device not connected',
    approved
      ? html`<h1 id="outcome">Device connected</h1><p>You can close this window and return to your device or terminal.</p>`
      : html`<h1 id="outcome">Device not connected</h1><p>The request was denied. Nothing was shared with the device.</p>`,
    'none'
  )
}
