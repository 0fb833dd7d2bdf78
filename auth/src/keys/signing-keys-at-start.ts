import { setTimeout as sleep } from 'node:timers/promises'
import type { Logger } from '../logger.ts'
import { storeFailureReason } from '../store/redis-failures.ts'
import { type Store, StoreMisconfigured, StoreUnavailable } from '../store/store.ts'
import { loadSigningKeys, type SigningKeys } from './signing-keys.ts'

const FIRST_RETRY_MS = 500
const LONGEST_WAIT_MS = 5_000
/** How long a start with a pinned key gives the store to say whether it is misconfigured. */
const PINNED_CHECK_MS = 2_000

/**
 * The signing keys at start-up, waiting for the store when it does not answer yet (a Redis that
 * restarts, or is scheduled after the gateway) instead of exiting: a process that exits is
 * restarted with a growing back-off and may come back long after the store did. A store that
 * refuses our credentials or a command we need, or is not what `REDIS_URL` names
 * (`StoreMisconfigured`), will not mend by waiting, and any other failure (a malformed ring or
 * pinned key) is no outage either: both stop the start.
 */
export async function signingKeysAtStart(
  store: Store,
  pinned: string | undefined,
  logger: Logger
): Promise<SigningKeys> {
  if (pinned) await refuseMisconfiguredStore(store)
  for (let attempt = 1, waitMs = FIRST_RETRY_MS; ; attempt++) {
    try {
      // The ping says what no key read may: a store misnamed by REDIS_URL whose keys answer.
      // (A pinned key reads nothing: the check above asked, without waiting for the store.)
      if (!pinned) await servesAsNeeded(store)
      return await loadSigningKeys(store, pinned)
    } catch (error) {
      if (!(error instanceof StoreUnavailable) || error instanceof StoreMisconfigured) throw error
      // An outage, not a bug: named in one line, without a stack.
      logger.warn(
        {
          event: 'store_unavailable_at_start',
          attempt,
          retryInMs: waitMs,
          reason: storeFailureReason(error),
        },
        'the store does not answer: waiting for it before serving'
      )
    }
    await sleep(waitMs)
    waitMs = Math.min(waitMs * 2, LONGEST_WAIT_MS)
  }
}

/**
 * A pinned key needs no store to start, and a store that does not answer yet must not hold the
 * start up; but a wrong password, or a URL naming the wrong kind of Redis, would otherwise only
 * show as a `/ready` answering 503 forever.
 */
async function refuseMisconfiguredStore(store: Store): Promise<void> {
  const refusal = await Promise.race([
    servesAsNeeded(store).then(
      () => undefined,
      (error: unknown) => error
    ),
    sleep(PINNED_CHECK_MS, undefined, { ref: false }),
  ])
  if (refusal instanceof StoreMisconfigured) throw refusal
}

/** The store answers, and lets us run every command we send (`Store.checkPermissions`). */
async function servesAsNeeded(store: Store): Promise<void> {
  await store.ping()
  await store.checkPermissions()
}
