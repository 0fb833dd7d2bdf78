import { hashSecret, newSecret, secretMatches } from '../oauth/secrets.ts'
import { keys } from '../store/keys.ts'
import type { Store } from '../store/store.ts'
import { parseRecord } from '../store/stored-record.ts'
import type { AuthorizationRequest } from './authorization-request.ts'

/**
 * What a consent page asks about, kept on the server while the page is open. The page carries
 * only an opaque reference to it (and the CSRF token), never a copy of the request: whatever a
 * form posts back, the request answered is the one this server validated.
 */
interface StoredConsentRequest {
  readonly request: AuthorizationRequest
  /** Hash of the page's CSRF token: only the browser that was shown the page may answer it. */
  readonly formTokenHash: string
}

/** Stores a validated request for its consent page; returns the page's reference to it. */
export async function saveConsentRequest(
  store: Store,
  request: AuthorizationRequest,
  formToken: string,
  ttlSeconds: number
): Promise<string> {
  const reference = newSecret()
  const stored: StoredConsentRequest = { request, formTokenHash: hashSecret(formToken) }
  await store.put(keys.consentRequest(hashSecret(reference)), JSON.stringify(stored), {
    ttlSeconds,
  })
  return reference
}

/**
 * Takes, once, the request a consent form answers. Null when the reference is unknown, expired or
 * already answered, or when the form's token is not the one of the page that showed it (another
 * browser); the request is used up either way.
 */
export async function takeConsentRequest(
  store: Store,
  reference: string,
  formToken: string
): Promise<AuthorizationRequest | null> {
  if (!/^[\w-]{43}$/.test(reference)) return null
  const key = keys.consentRequest(hashSecret(reference))
  const raw = await store.take(key)
  if (!raw) return null
  const stored = parseRecord<StoredConsentRequest>(raw, key)
  return secretMatches(formToken, stored.formTokenHash) ? stored.request : null
}
