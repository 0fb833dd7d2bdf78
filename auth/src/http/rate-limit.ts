import type { Context, MiddlewareHandler } from 'hono'
import { type Clock, epochSeconds } from '../clock.ts'
import { RateLimited } from '../errors.ts'
import { keys } from '../store/keys.ts'
import type { Store } from '../store/store.ts'
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

/** Who sent a request, when a browser session says: someone an allowed sign-in let in. */
export interface SignedInCaller {
  readonly id: string
}

/**
 * Counts a request before it is served (fixed windows, counted in the store so replicas share
 * them) and refuses it with 429 and `Retry-After` once the caller's or the global limit is
 * exceeded. Counting first, atomically, means concurrent requests cannot all slip in before any is
 * counted.
 *
 * A signed-in user is counted by their id, and not towards the global limit: that limit bounds
 * what anonymous callers can make the gateway do together, and a few addresses spending it must
 * not lock out the people the gateway is for. Only an allowed user's sign-in makes a session, so
 * what sessions can spend is bounded by the users, each within `limit`.
 */
export function requestLimiter(
  options: RateLimitOptions
): (c: Context, signedIn?: SignedInCaller | null) => Promise<void> {
  const { store, clock, bucket, limit, windowSeconds, trustProxy, globalLimit } = options
  if (limit < 1 || windowSeconds < 1 || (globalLimit !== undefined && globalLimit < 1)) {
    throw new TypeError('rate limits and windows must be positive')
  }
  const description = options.description ?? 'too many requests, retry later'
  return async (c, signedIn) => {
    const now = epochSeconds(clock)
    const window = Math.floor(now / windowSeconds)
    const refuse = () => new RateLimited(description, (window + 1) * windowSeconds - now)
    // User ids are digits and addresses never start with `user:`: the two cannot meet.
    const caller = signedIn ? `user:${signedIn.id}` : callerAddress(c, trustProxy)
    if ((await store.increment(keys.rateLimit(bucket, caller, window), windowSeconds)) > limit) {
      throw refuse()
    }
    if (
      !signedIn &&
      globalLimit !== undefined &&
      (await store.increment(keys.globalRateLimit(bucket, window), windowSeconds)) > globalLimit
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
