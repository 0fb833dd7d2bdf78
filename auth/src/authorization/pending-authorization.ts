import { hashSecret, newSecret } from '../oauth/secrets.ts'
import { keys } from '../store/keys.ts'
import type { Store } from '../store/store.ts'
import { parseRecord } from '../store/stored-record.ts'
import type { AuthorizationRequest } from './authorization-request.ts'

/** Time to sign in at the identity provider after approving (GitHub's codes live 10 minutes). */
export const PENDING_AUTHORIZATION_TTL_SECONDS = 600

/**
 * What an upstream sign-in finishes once the user is known: an authorization request (a code for
 * the client), a device authorization (RFC 8628: the waiting device gets its tokens), or a sign-in
 * to the connected-apps page (`/account`).
 */
export type SignInContinuation =
  | { readonly kind: 'authorization'; readonly request: AuthorizationRequest }
  | { readonly kind: 'device'; readonly deviceCodeHash: string; readonly clientId: string }
  | { readonly kind: 'account' }

/**
 * A consented request waiting for the upstream sign-in. Stored only after consent, keyed by the
 * `state` sent upstream, and taken once by the callback.
 */
export type PendingAuthorization = SignInContinuation & {
  /** Our PKCE verifier towards the upstream. */
  readonly upstreamCodeVerifier: string
}

export async function savePendingAuthorization(
  store: Store,
  pending: PendingAuthorization
): Promise<string> {
  const state = newSecret()
  // Keyed by its hash, like every credential: `state` is what lets a callback finish the sign-in.
  await store.put(keys.pendingAuthorization(hashSecret(state)), JSON.stringify(pending), {
    ttlSeconds: PENDING_AUTHORIZATION_TTL_SECONDS,
  })
  return state
}

/** The pending request a callback's `state` names, left in place (`takePendingAuthorization`). */
export async function findPendingAuthorization(
  store: Store,
  state: string
): Promise<PendingAuthorization | null> {
  const key = pendingKey(state)
  return key ? parseRecord<PendingAuthorization>(await store.get(key), key) : null
}

/** Takes the pending request: of callbacks racing with one `state`, one gets it. */
export async function takePendingAuthorization(
  store: Store,
  state: string
): Promise<PendingAuthorization | null> {
  const key = pendingKey(state)
  return key ? parseRecord<PendingAuthorization>(await store.take(key), key) : null
}

function pendingKey(state: string): string | undefined {
  return /^[\w-]{20,100}$/.test(state) ? keys.pendingAuthorization(hashSecret(state)) : undefined
}
