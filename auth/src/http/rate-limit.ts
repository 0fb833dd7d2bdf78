import type { Context, MiddlewareHandler } from 'hono'
import { type Clock, epochSeconds } from '../clock.ts'
import { RateLimited } from '../errors.ts'
import { keys } from '../store/keys.ts'
import type { Store } from '../store/store.ts'
import { coalescedIncrement } from '../store/turn-batches.ts'
import type { TrustProxy } from '../trusted-proxies.ts'
import { callerAddress } from './caller.ts'

export interface RateLimitOptions {
  readonly store: Store
  readonly clock: Clock
  /** Names the limited endpoint in the store key. */
  readonly bucket: string
  /** Requests per window from one caller. */
  readonly limit: number
  readonly windowSeconds: number
  readonly trustProxy: TrustProxy
  /**
   * Requests per window from all callers together, which bounds what many callers can write.
   * Only requests within their caller's own limit count towards it, so a single flooder spends at
   * most `limit` of it: keep `limit` well below it.
   */
  readonly globalLimit?: number
  /** What the 429 says; the default suits any endpoint. */
  readonly description?: string
}

/** Who sent a request, when a browser session says: someone a sign-in let in. */
export interface SignedInCaller {
  readonly id: string
}

/**
 * Counts a request before it is served (fixed windows, counted in the store so replicas share
 * them) and refuses it with 429 and `Retry-After` once the caller's or the global limit is
 * exceeded. Counting first, atomically, means concurrent requests cannot all slip in before any is
 * counted.
 *
 * A signed-in user is counted by their id, and the global limit is counted for signed-in users
 * apart from anonymous callers (each side has the whole of it): a few addresses spending the
 * anonymous side must not lock out the people the gateway is for, and the total stays bounded
 * even where anyone may sign in (`ALLOWED_GITHUB_USERS=*`).
 */
export function requestLimiter(
  options: RateLimitOptions
): (c: Context, signedIn?: SignedInCaller | null) => Promise<void> {
  const { store, clock, bucket, limit, windowSeconds, trustProxy, globalLimit } = options
  if (limit < 1 || windowSeconds < 1 || (globalLimit !== undefined && globalLimit < 1)) {
    throw new TypeError('rate limits and windows must be positive')
  }
  const description = options.description ?? 'too many requests, retry later'
  // A caller's concurrent requests, and everyone's for the global count, share one command a turn.
  const increment = coalescedIncrement(store)
  return async (c, signedIn) => {
    const now = epochSeconds(clock)
    const window = Math.floor(now / windowSeconds)
    const refuse = () => new RateLimited(description, (window + 1) * windowSeconds - now)
    // No address starts with `user:`: a user and an address are never one caller.
    const caller = signedIn ? `user:${signedIn.id}` : callerAddress(c, trustProxy)
    if ((await increment(keys.rateLimit(bucket, caller, window), windowSeconds)) > limit) {
      throw refuse()
    }
    const side = signedIn ? `${bucket}:signed-in` : bucket
    if (
      globalLimit !== undefined &&
      (await increment(keys.globalRateLimit(side, window), windowSeconds)) > globalLimit
    ) {
      throw refuse()
    }
  }
}

/** `requestLimiter` as middleware, for endpoints limited as a whole. */
export function rateLimit(options: RateLimitOptions): MiddlewareHandler {
  const countRequest = requestLimiter(options)
  return async (c, next) => {
    await countRequest(c)
    await next()
  }
}
