import type { Context } from 'hono'
import { redirectPlace } from '../clients/client-id-metadata.ts'
import { isMetadataDocumentClient } from '../clients/client-lookup.ts'
import type { ClientRecord } from '../clients/client-registry.ts'
import type { AuthDeps } from '../deps.ts'
import { RateLimited } from '../errors.ts'
import { requestLimiter, type SignedInCaller } from '../http/rate-limit.ts'

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

/** Codes a user's remembered consents may answer with in an hour (`rememberedConsentBound`). */
export const REMEMBERED_CODES_AN_HOUR = 60

/**
 * Whether one more code may ride on a remembered consent this hour: at most
 * `REMEMBERED_CODES_AN_HOUR` a user. Each code leaves markers for the refresh lifetime (its
 * redemption's, and the revocation of the family it ends past the sign-in limit), so their rate
 * bounds what a client the user approved can make the store keep: at most 60 × 720 a month, a
 * few MB. Past it the user is asked again rather than refused: any site can send their browser
 * to `/authorize` with a client they approved, and a refusal would lock them out of every client
 * for the rest of the hour, while a click on the page is theirs alone to give.
 */
export function rememberedConsentBound(
  deps: AuthDeps
): (c: Context, user: SignedInCaller) => Promise<boolean> {
  const count = requestLimiter({
    store: deps.store,
    clock: deps.clock,
    trustProxy: deps.config.trustProxy,
    bucket: 'remembered-consent',
    limit: REMEMBERED_CODES_AN_HOUR,
    windowSeconds: 3600,
  })
  return (c, user) =>
    count(c, user).then(
      () => true,
      (error: unknown) => {
        if (error instanceof RateLimited) return false
        throw error
      }
    )
}
