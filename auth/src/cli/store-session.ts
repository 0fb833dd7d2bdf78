import { storeFailureReason } from '../store/redis-failures.ts'
import { createRedisStore } from '../store/redis-store.ts'
import { type Store, StoreFull, StoreUnavailable } from '../store/store.ts'

/**
 * The gateway's store could not serve a command: unreachable, refusing this client (a wrong
 * password), or full. The message is the one line the CLI prints, naming the store by its URL
 * without any password; the store's own error is the cause.
 */
export class StoreFailure extends Error {
  override readonly name = 'StoreFailure'
}

export interface StoreAddress {
  readonly url: string
  readonly keyPrefix: string
}

/**
 * Runs `work` on the store at `address`, and closes it. The store is asked first whether it
 * answers, so a store that cannot be used is said before anything is done, whatever its error.
 * A wrong password stops the server's start as a configuration error; to a command it is a store
 * it cannot use, like an outage (exit 1). A store error while the work runs is said the same way.
 */
export async function withStore<T>(
  address: StoreAddress,
  work: (store: Store) => Promise<T>
): Promise<T> {
  const store = createRedisStore(address.url, address.keyPrefix)
  try {
    await store.ping().catch((error: unknown) => {
      if (error instanceof StoreUnavailable) throw error
      throw new StoreUnavailable('the store refused the connection', { cause: error })
    })
    return await work(store)
  } catch (error) {
    if (error instanceof StoreUnavailable) {
      throw new StoreFailure(describeFailure(error, address.url), { cause: error })
    }
    throw error
  } finally {
    await store.close()
  }
}

/** `the store at <url> is unavailable: <why>` (or `is full`). */
function describeFailure(error: StoreUnavailable, url: string): string {
  const state = error instanceof StoreFull ? 'full' : 'unavailable'
  return `the store at ${withoutPasswords(url)} is ${state}: ${storeFailureReason(error)}`
}

/**
 * The URL as it can be shown: the password of the user info and a Sentinel's `sentinel_password`
 * masked. The user info ends at the last `@` before the path, as the URL is parsed.
 */
export function withoutPasswords(url: string): string {
  return url
    .replace(/^([a-z][\w+.-]*:\/\/[^:@/?#]*):[^/?#]*@/i, '$1:***@')
    .replace(/([?&]sentinel_password=)[^&#]*/i, '$1***')
}
