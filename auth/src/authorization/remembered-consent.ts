import { redirectPlace } from '../clients/client-id-metadata.ts'
import { isMetadataDocumentClient } from '../clients/client-lookup.ts'
import type { ClientRecord } from '../clients/client-registry.ts'

/**
 * Redirect pages known to pass the code on to a local program that the request's `state` names,
 * as origin and path: a registered redirect is matched exactly, so every spelling a client may
 * register (`VSCODE.dev`, `:443`, a query, a trailing slash) is compared in this form.
 */
const RELAYS_TO_THIS_COMPUTER = new Set([
  'https://vscode.dev/redirect',
  'https://insiders.vscode.dev/redirect',
])

function relaysToThisComputer(redirectUri: string): boolean {
  const url = new URL(redirectUri)
  return RELAYS_TO_THIS_COMPUTER.has(`${url.origin}${url.pathname.replace(/\/+$/, '')}`)
}

/**
 * Whether a remembered consent may stand for this request, or the user is asked again. RFC 8252
 * §8.6: a remembered approval is used only when the client's identity can be assured. A public
 * client returning to this computer (a loopback or app-scheme redirect) cannot assure it: its
 * client_id is no secret (it travels in every authorization URL), and any program here could send
 * it and claim the redirect on a port or scheme of its own, then redeem the code with its own PKCE
 * verifier (the MCP specification's localhost impersonation). A metadata document is public
 * likewise, and one may name https redirects on any site: only a redirect back to the host that
 * published it rides on a remembered consent. A registered client's https redirect is its own,
 * and a confidential client proves itself at the token endpoint. An https page that relays the
 * code on to a program on this computer (VS Code's, to the app or port its `state` names) returns
 * to this computer all the same, for any client.
 */
export function asksEveryTime(client: ClientRecord, redirectUri: string): boolean {
  if (relaysToThisComputer(redirectUri)) return true
  if (isMetadataDocumentClient(client)) {
    return redirectPlace(client.client_id, redirectUri) !== 'same'
  }
  return (
    client.metadata.token_endpoint_auth_method === 'none' &&
    new URL(redirectUri).protocol !== 'https:'
  )
}
