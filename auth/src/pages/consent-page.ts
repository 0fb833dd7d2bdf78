import type { Context } from 'hono'
import { html } from 'hono/html'
import { clientIdHost, redirectPlace } from '../clients/client-id-metadata.ts'
import { isMetadataDocumentClient } from '../clients/client-lookup.ts'
import type { ClientRecord } from '../clients/client-registry.ts'
import { shownClientText } from './client-text.ts'
import { decisionForm, type GrantAsked, grantRows } from './grant-parts.ts'
import { renderPage } from './layout.ts'

export interface ConsentView extends GrantAsked {
  readonly client: ClientRecord
  readonly redirectUri: string
  /** The reference to the request kept on the server: the form carries no copy of it. */
  readonly consentRequest: string
  readonly csrfToken: string
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
<dt>Application</dt><dd>${name}${clientUri ? html` (says it is from <span>${clientUri}</span>)` : ''}</dd>
<dt>Will return to</dt><dd id="redirect-host">${describeRedirect(view.redirectUri)}</dd>
${grantRows(view)}
</dl>
${documentHost ? metadataDocumentWarning(view, documentHost) : html`<p class="warning">This application registered itself with this gateway. Allow it only if you started this connection yourself and trust where it will return to.</p>`}
${decisionForm('/authorize', { consent_request: view.consentRequest, csrf_token: view.csrfToken })}`,
    'onward'
  )
}

/**
 * Who vouches for a metadata-document client, and the caveat of a redirect to this computer or
 * to a site other than the document's.
 */
function metadataDocumentWarning(view: ConsentView, documentHost: string) {
  const place = redirectPlace(view.client.client_id, view.redirectUri)
  const caveat =
    place === 'local'
      ? html` It returns to this computer, where any program could use this identity: approve only a connection you just started here.`
      : place === 'elsewhere'
        ? html` It returns to <strong>${new URL(view.redirectUri).host}</strong>, not to ${documentHost}: approve only if you expected to be sent there.`
        : ''
  return html`<p class="warning" id="client-document">This application is identified by the URL <code>${view.client.client_id}</code>: its name and where it may return come from a document published by <strong>${documentHost}</strong>. Allow it only if you started this connection yourself and trust ${documentHost}.${caveat}</p>`
}

/** The part of the redirect URI a person can judge: the host, or what kind of place it is. */
export function describeRedirect(redirectUri: string): string {
  const url = new URL(redirectUri)
  if (url.protocol === 'https:') return url.host
  if (url.protocol === 'http:') return `this computer (${url.host})`
  // The whole URI: a person can judge `cursor://anysphere.cursor-retrieval/…`, not a scheme alone.
  return `the ${url.protocol.slice(0, -1)} application on this computer (${redirectUri})`
}
