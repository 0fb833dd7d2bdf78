import type { TokenSubject } from '../oauth/access-token.ts'
import { hashSecret, newSecret } from '../oauth/secrets.ts'
import { keys } from '../store/keys.ts'
import type { Store } from '../store/store.ts'
import { parseRecord } from '../store/stored-record.ts'

/** How long a sign-in at the gateway is remembered in the browser. */
export const SESSION_TTL_SECONDS = 12 * 60 * 60

/**
 * A browser's sign-in at the gateway, so the consent page can say who is signed in and a
 * remembered consent does not send the user through GitHub again. The cookie holds a random
 * value; the store keeps only its hash.
 */
export async function startBrowserSession(store: Store, subject: TokenSubject): Promise<string> {
  const sessionId = newSecret()
  await store.put(keys.browserSession(hashSecret(sessionId)), JSON.stringify(subject), {
    ttlSeconds: SESSION_TTL_SECONDS,
  })
  return sessionId
}

export async function findBrowserSession(
  store: Store,
  sessionId: string | undefined
): Promise<TokenSubject | null> {
  if (!sessionId) return null
  const key = keys.browserSession(hashSecret(sessionId))
  return parseRecord<TokenSubject>(await store.get(key), key)
}

/** Signs the browser out at the gateway: the next authorization goes through sign-in again. */
/** Ends a browser session; whether there was one to end. */
export async function endBrowserSession(store: Store, sessionId: string): Promise<boolean> {
  return (await store.delete(keys.browserSession(hashSecret(sessionId)))) > 0
}
