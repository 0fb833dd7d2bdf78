import { setTimeout as sleep } from 'node:timers/promises'
import type { Logger } from '../logger.ts'
import { type Store, StoreUnavailable } from '../store/store.ts'
import { loadSigningKeys, type SigningKeys } from './signing-keys.ts'

const FIRST_RETRY_MS = 500
const LONGEST_WAIT_MS = 5_000

/**
 * The signing keys at start-up, waiting for the store when it does not answer yet (a Redis that
 * restarts, or is scheduled after the gateway) instead of exiting: a process that exits is
 * restarted with a growing back-off and may come back long after the store did. Any other failure
 * (a malformed ring or pinned key) still stops the start.
 */
export async function signingKeysAtStart(
  store: Store,
  pinned: string | undefined,
  logger: Logger
): Promise<SigningKeys> {
  for (let attempt = 1, waitMs = FIRST_RETRY_MS; ; attempt++) {
    try {
      return await loadSigningKeys(store, pinned)
    } catch (error) {
      if (!(error instanceof StoreUnavailable)) throw error
      logger.warn(
        { event: 'store_unavailable_at_start', attempt, retryInMs: waitMs, err: error },
        'the store does not answer: waiting for it before serving'
      )
    }
    await sleep(waitMs)
    waitMs = Math.min(waitMs * 2, LONGEST_WAIT_MS)
  }
}
