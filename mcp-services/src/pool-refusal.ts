import { PoolFullError, UserPoolFullError } from './child-pool.ts'
import { CrashRateError } from './crash-rate.ts'
import { CRASH_RATE_REFUSAL } from './json-rpc-error.ts'

/** A refusal of the stateless era's pool, as the client is told it. */
export interface PoolRefusal {
  readonly status: 429 | 503
  readonly message: string
  readonly retryAfterSeconds: number
}

/**
 * Why the pool gave no child, when it is one of the pool's own refusals (else undefined: a
 * failure to start, the bridge's fault). The user's own limits are 429s; the bridge's total, 503.
 */
export function poolRefusal(error: unknown): PoolRefusal | undefined {
  if (error instanceof CrashRateError) {
    const message = `Too Many Requests: ${CRASH_RATE_REFUSAL}`
    return { status: 429, message, retryAfterSeconds: error.retryAfterSeconds }
  }
  if (error instanceof UserPoolFullError) {
    const message = `Too Many Requests: ${error.message}; retry when one is done`
    return { status: 429, message, retryAfterSeconds: 5 }
  }
  if (error instanceof PoolFullError) {
    return {
      status: 503,
      message: 'Service Unavailable: every server is busy',
      retryAfterSeconds: 5,
    }
  }
  return undefined
}

/** A user holding `bound` `subscriptions/listen` streams open gets no more until one ends. */
export function listenRefusal(bound: number): PoolRefusal {
  const message = `Too Many Requests: at most ${bound} of your subscriptions/listen streams are open at once`
  return { status: 429, message, retryAfterSeconds: 5 }
}

/**
 * A session POST carrying `arriving` requests while the user's sessions already have `inFlight`
 * the children have not answered, against `MAX_REQUESTS_PER_USER`: a request's HTTP slot is
 * given back once its answer starts (at once for a stream), and a client that leaves does not
 * cancel its call, so without this one account could queue calls of any size and number to its
 * children faster than they are answered. Undefined when it fits.
 */
export function unansweredRefusal(
  inFlight: number,
  arriving: number,
  bound: number
): PoolRefusal | undefined {
  if (arriving === 0 || inFlight + arriving <= bound) return undefined
  const message = `Too Many Requests: ${inFlight} of your requests are still being worked on (at most ${bound}); retry when one is answered, or cancel one`
  return { status: 429, message, retryAfterSeconds: 1 }
}
