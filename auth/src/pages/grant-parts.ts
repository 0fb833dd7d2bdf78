import { html } from 'hono/html'

/** What a consent page asks the user to grant, as both consent pages (code and device) show it. */
export interface GrantAsked {
  readonly scopes: readonly string[]
  readonly resources: readonly { resource: string; description: string }[]
  /** Who is signed in at the gateway, if anyone. */
  readonly signedInAs?: string
  readonly upstreamName: string
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

/** The rows under the application's: the access, the services, and who would be approving. */
export function grantRows(view: GrantAsked) {
  return html`<dt>Access</dt><dd>${describeScopes(view.scopes)}</dd>
<dt>Services</dt><dd>${view.resources.map((r) => html`<div>${r.description} <code>${r.resource}</code></div>`)}</dd>
<dt>Signed in as</dt><dd id="signed-in-as">${view.signedInAs ?? html`not yet: you will sign in with ${view.upstreamName} next`}</dd>`
}

/**
 * Approve and Deny, posted to `action` with `fields` (the request's reference and the CSRF
 * token) as hidden inputs: the one choice a consent page offers.
 */
export function decisionForm(action: string, fields: Readonly<Record<string, string>>) {
  return html`<form method="post" action="${action}">
${Object.entries(fields).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`)}
<div class="actions">
<button class="primary" type="submit" name="decision" value="approve">Approve</button>
<button type="submit" name="decision" value="deny">Deny</button>
</div>
</form>`
}
