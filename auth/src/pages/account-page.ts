import type { Context } from 'hono'
import { html } from 'hono/html'
import type { ClientIdentity, ConnectedApps } from '../account/connected-apps.ts'
import type { FamilyListing } from '../tokens/token-families.ts'
import { shownClientText } from './client-text.ts'
import { describeRedirect } from './consent-page.ts'
import { describeScopes } from './grant-parts.ts'
import { renderPage } from './layout.ts'

/** The fixed notices a revocation leaves for `/account` (its `notice` cookie); nothing else is shown. */
export const ACCOUNT_NOTICES = {
  revoked:
    'Access revoked. Its tokens are refused from now on; the application must ask you again to reconnect.',
  gone: 'There was nothing left to revoke: it had already expired or been revoked.',
} as const

export type AccountNotice = keyof typeof ACCOUNT_NOTICES

export interface AccountView {
  readonly signedInAs: string
  readonly connected: ConnectedApps
  readonly csrfToken: string
  readonly notice: AccountNotice | undefined
  /** Service descriptions by resource URL, so a person reads "Echo", not a URL alone. */
  readonly services: ReadonlyMap<string, string>
  /** Where the page's forms answer (sign-out and revocations redirect back to `/account`). */
  readonly issuer: string
}

/**
 * The connected-apps page. Every name and URI on it was chosen by whoever registered the client
 * (or published its metadata document): all of it is escaped text, redirect URIs are shown as
 * hosts, and nothing on the page is a link.
 */
export function renderAccountPage(c: Context, view: AccountView) {
  const { apps, devices } = view.connected
  return renderPage(
    c,
    'Connected applications',
    html`<h1>Connected applications</h1>
<form method="post" action="/account/sign-out">
<input type="hidden" name="csrf_token" value="${view.csrfToken}">
<p>Signed in as <strong id="signed-in-as">${view.signedInAs}</strong> <button type="submit">Sign out</button></p>
</form>
${view.notice ? html`<p class="notice" id="notice" role="status">${ACCOUNT_NOTICES[view.notice]}</p>` : ''}
<h2>Applications you approved</h2>
${apps.length === 0 ? html`<p id="no-apps">None.</p>` : ''}
${apps.map(
  (app) => html`<section class="entry app">
<h3 class="app-name">${displayName(app)}</h3>
<dl>
${identity(app)}
<dt>Approved</dt><dd>${app.approvedAt === undefined ? 'not remembered (tokens only)' : formatTime(app.approvedAt)}</dd>
<dt>Access</dt><dd>${describeScopes(app.scopes)}</dd>
<dt>Services</dt><dd>${describeServices(app.resources, view.services)}</dd>
<dt>Last new tokens</dt><dd class="last-used">${lastTokens(app.families)}</dd>
</dl>
${revokeForm(view.csrfToken, 'app', app.clientId, `Revoke ${displayName(app)}`)}
</section>`
)}
<h2>Device sessions</h2>
${devices.length === 0 ? html`<p id="no-devices">None.</p>` : ''}
${devices.map(
  (device) => html`<section class="entry device">
<h3 class="app-name">${displayName(device)} <small>(signed in with a device code)</small></h3>
<dl>
${identity(device)}
<dt>Started</dt><dd>${formatIso(device.family.created_at)}</dd>
<dt>Access</dt><dd>${describeScopes(device.family.scopes)}</dd>
<dt>Services</dt><dd>${describeServices(device.family.resources, view.services)}</dd>
<dt>Last new tokens</dt><dd class="last-used">${lastTokens([device.family])}</dd>
</dl>
${revokeForm(view.csrfToken, 'device', device.family.id, `End this session of ${displayName(device)}`)}
</section>`
)}
<p class="hint">"Last new tokens" is when the application last signed in or refreshed its tokens. The gateway does not note each use of a token, so an application may have been used since.</p>`,
    { issuer: view.issuer }
  )
}

/** The page shown to a signed-out visitor: signing in is a deliberate step, not a redirect. */
export function renderAccountSignInPage(c: Context, csrfToken: string, upstreamName: string) {
  return renderPage(
    c,
    'Connected applications',
    html`<h1>Connected applications</h1>
<p>Sign in with ${upstreamName} to see the applications and devices you connected to this gateway, and to revoke them.</p>
<form method="post" action="/account/sign-in">
<input type="hidden" name="csrf_token" value="${csrfToken}">
<div class="actions"><button class="primary" type="submit">Sign in with ${upstreamName}</button></div>
</form>`,
    'onward'
  )
}

function revokeForm(csrfToken: string, kind: 'app' | 'device', id: string, label: string) {
  return html`<form method="post" action="/account/revoke">
<input type="hidden" name="csrf_token" value="${csrfToken}">
<input type="hidden" name="kind" value="${kind}">
<input type="hidden" name="id" value="${id}">
<div class="actions"><button type="submit" aria-label="${label}">Revoke</button></div>
</form>`
}

function displayName(client: ClientIdentity): string {
  const name = shownClientText(client.name)
  if (name) return name
  if (client.documentHost) return `An application published by ${client.documentHost}`
  return 'An unnamed or deleted application'
}

function identity(client: ClientIdentity) {
  if (client.documentHost) {
    return html`<dt>Identified by</dt><dd><strong class="client-host">${client.documentHost}</strong> <code>${client.clientId}</code></dd>`
  }
  if (client.redirectUris.length > 0) {
    return html`<dt>Returns to</dt><dd class="client-host">${client.redirectUris.map(
      (uri) => html`<div>${safeDescribeRedirect(uri)}</div>`
    )}</dd>`
  }
  return html`<dt>Returns to</dt><dd class="client-host">${
    client.registered
      ? 'nowhere (it signs in with a device code)'
      : 'unknown (the registration is gone)'
  }</dd>`
}

function safeDescribeRedirect(uri: string): string {
  try {
    return describeRedirect(uri)
  } catch {
    return uri
  }
}

function describeServices(resources: readonly string[], services: ReadonlyMap<string, string>) {
  return resources.map(
    (resource) => html`<div>${services.get(resource) ?? 'A service'} <code>${resource}</code></div>`
  )
}

function lastTokens(families: readonly FamilyListing[]) {
  if (families.length === 0) return 'no live tokens'
  const latest = families.map((f) => f.last_refreshed_at).sort()[families.length - 1] ?? ''
  const count = families.length === 1 ? '' : ` (${families.length} connections)`
  return `${formatIso(latest)}${count}`
}

function formatTime(epochSeconds: number): string {
  return formatIso(new Date(epochSeconds * 1000).toISOString())
}

/** `2026-11-30 14:05 UTC`: the same for every reader, whatever their browser's time zone. */
function formatIso(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`
}
