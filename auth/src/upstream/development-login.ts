import type { TokenSubject } from '../oauth/access-token.ts'
import { verifierMatches } from '../oauth/pkce.ts'
import { hashSecret, newSecret } from '../oauth/secrets.ts'
import { keys } from '../store/keys.ts'
import type { Store } from '../store/store.ts'
import { parseRecord } from '../store/stored-record.ts'
import { NO_MEMBERSHIPS, type Upstream, UpstreamCodeRejected } from './upstream.ts'

const CODE_TTL_SECONDS = 60

/** What the development sign-in page keeps for its code until the callback redeems it. */
interface DevelopmentLoginCode {
  readonly login: string
  readonly codeChallenge: string
}

/**
 * A development sign-in for the standalone demo without a GitHub OAuth App: the user types a
 * name, no password (the page: `routes/development-sign-in.ts`). The configuration allows it only
 * on a loopback issuer or when asked for (`Config.developmentSignIn`). It walks the same path as
 * GitHub (state, PKCE, callback, allow-list), so the demo shows the real flow.
 */
export function developmentLogin(store: Store, issuer: string): Upstream {
  return {
    authorizationUrl({ state, codeChallenge }) {
      const url = new URL(`${issuer}/dev-login`)
      url.search = new URLSearchParams({ state, code_challenge: codeChallenge }).toString()
      return url
    },
    async completeLogin({ callbackUrl, codeVerifier }) {
      const code = callbackUrl.searchParams.get('code') ?? ''
      const key = keys.developmentLoginCode(hashSecret(code))
      const record = code ? parseRecord<DevelopmentLoginCode>(await store.take(key), key) : null
      if (!record || !verifierMatches(codeVerifier, record.codeChallenge)) {
        throw new UpstreamCodeRejected('the development sign-in code is invalid or expired')
      }
      return {
        subject: subjectOf(record.login),
        memberships: NO_MEMBERSHIPS,
        grant: { accessToken: record.login },
      }
    },
    currentSubject: async (grant) => ({
      subject: subjectOf(grant.accessToken),
      memberships: NO_MEMBERSHIPS,
    }),
  }
}

/**
 * The code the page hands to the callback for a name typed in, as GitHub hands one: single use,
 * stored hashed, a minute to live, bound to the sign-in's PKCE challenge.
 */
export async function issueDevelopmentLoginCode(
  store: Store,
  record: DevelopmentLoginCode
): Promise<string> {
  const code = newSecret()
  await store.put(keys.developmentLoginCode(hashSecret(code)), JSON.stringify(record), {
    ttlSeconds: CODE_TTL_SECONDS,
  })
  return code
}

function subjectOf(login: string): TokenSubject {
  // Never a number, so it can never collide with a GitHub user id.
  return { id: `dev-${login.toLowerCase()}`, login: login.toLowerCase() }
}
