import type { Context } from 'hono'
import { html } from 'hono/html'
import { clientIdHost } from '../clients/client-id-metadata.ts'
import { isMetadataDocumentClient } from '../clients/client-lookup.ts'
import type { ClientRecord } from '../clients/client-registry.ts'
import { shownClientText } from './client-text.ts'
import { renderPage } from './layout.ts'

export interface ConsentView {
  readonly client: ClientRecord
  readonly redirectUri: string
  readonly scopes: readonly string[]
  readonly resources: readonly { resource: string; description: string }[]
  /** Who is signed in at the gateway, if anyone. */
  readonly signedInAs?: string
  /** The reference to the request kept on the server: the form carries no copy of it. */
  readonly consentRequest: string
  readonly csrfToken: string
  readonly upstreamName: string
}

/**
 * The consent page, shown before any redirect to the identity provider: the MCP spec requires a
 * proxy authorization server to ask the user for every dynamically registered client. A client
 * identified by a metadata document is introduced by the host that publishes it, the one thing
 * about it the gateway has checked (its name is whatever the document says).
 */
export function renderConsentPage(c: Context, view: ConsentView) {
  const name = shownClientText(view.client.metadata.client_name) ?? 'An unnamed application'
  const clientUri = shownClientText(view.client.metadata.client_uri)
  const documentHost = isMetadataDocumentClient(view.client)
    ? clientIdHost(view.client.client_id)
    : undefined
  return renderPage(
    c,
    `Allow ${name}?`,
    html`<h1>Allow <span id="client-name">${name}</span> to use your MCP services?</h1>
${documentHost ? html`<p id="client-identity">Identified by <strong id="client-host">${documentHost}</strong></p>` : ''}
<dl>
<dt>Application</dt><dd>${name}${clientUri ? html` (<span>${clientUri}</span>)` : ''}</dd>
<dt>Will return to</dt><dd id="redirect-host">${describeRedirect(view.redirectUri)}</dd>
<dt>Access</dt><dd>${describeScopes(view.scopes)}</dd>
<dt>Services</dt><dd>${view.resources.map((r) => html`<div>${r.description} <code>${r.resource}</code></div>`)}</dd>
<dt>Signed in as</dt><dd id="signed-in-as">${view.signedInAs ?? html`not yet: you will sign in with ${view.upstreamName} next`}</dd>
</dl>
${documentHost ? metadataDocumentWarning(view, documentHost) : html`<p class="warning">This application registered itself with this gateway. Allow it only if you started this connection yourself and trust where it will return to.</p>`}
<form method="post" action="/authorize">
<input type="hidden" name="consent_request" value="${view.consentRequest}">
<input type="hidden" name="csrf_token" value="${view.csrfToken}">
<div class="actions">
<button class="primary" type="submit" name="decision" value="approve">Approve</button>
<button type="submit" name="decision" value="deny">Deny</button>
</div>
</form>`,
    'onward'
  )
}

/** Who vouches for a metadata-document client, and the caveat of a redirect to this computer. */
function metadataDocumentWarning(view: ConsentView, documentHost: string) {
  const local = !view.redirectUri.startsWith('https://')
  return html`<p class="warning" id="client-document">This application is identified by the URL <code>${view.client.client_id}</code>: its name and where it may return come from a document published by <strong>${documentHost}</strong>. Allow it only if you started this connection yourself and trust ${documentHost}.${local ? html` It returns to this computer, where any program could use this identity: approve only a connection you just started here.` : ''}</p>`
}

/** What a scope lets the application do, in words a person can judge. */
const SCOPE_DESCRIPTIONS: Readonly<Record<string, string>> = {
  mcp: 'Call the tools and read the resources of these services, as you',
}

/** The scopes as a person reads them, each with its name. */
export function describeScopes(scopes: readonly string[]) {
  return scopes.map(
    (scope) => html`<div>${SCOPE_DESCRIPTIONS[scope] ?? scope} <code>${scope}</code></div>`
  )
}

/** The part of the redirect URI a person can judge: the host, or what kind of place it is. */
export function describeRedirect(redirectUri: string): string {
  const url = new URL(redirectUri)
  if (url.protocol === 'https:') return url.host
  if (url.protocol === 'http:') return `this computer (${url.host})`
  // The whole URI: a person can judge `cursor://anysphere.cursor-retrieval/…`, not a scheme alone.
  return `the ${url.protocol.slice(0, -1)} application on this computer (${redirectUri})`
}
