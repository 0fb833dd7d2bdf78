import type { Context, MiddlewareHandler } from 'hono'
import { type Clock, epochSeconds } from '../clock.ts'
import { RateLimited } from '../errors.ts'
import { keys } from '../store/keys.ts'
import type { Store } from '../store/store.ts'
import { callerAddress } from './caller.ts'

export interface RateLimitOptions {
  readonly store: Store
  readonly clock: Clock
  /** Names the limited endpoint in the store key. */
  readonly bucket: string
  readonly limit: number
  readonly windowSeconds: number
  readonly trustProxy: boolean
}

/** A fixed-window limit per caller address, counted in the store so replicas share it. */
export function rateLimit(options: RateLimitOptions): MiddlewareHandler {
  const { store, clock, bucket, limit, windowSeconds, trustProxy } = options
  if (limit < 1 || windowSeconds < 1) throw new TypeError('rate limit and window must be positive')
  return async (c, next) => {
    const now = epochSeconds(clock)
    const window = Math.floor(now / windowSeconds)
    const caller = callerAddress(c, trustProxy)
    const count = await store.increment(keys.rateLimit(bucket, caller, window), windowSeconds)
    if (count > limit) {
      throw new RateLimited('too many requests, retry later', (window + 1) * windowSeconds - now)
    }
    await next()
  }
}

/**
 * Counts only failures (wrong codes), per caller and fixed window: `refuseIfExceeded` before the
 * attempt, `recordFailure` after a wrong one. Guessing is limited; a person who types their code
 * right is never slowed.
 */
export function failureLimit(options: RateLimitOptions) {
  const { store, clock, bucket, limit, windowSeconds, trustProxy } = options
  if (limit < 1 || windowSeconds < 1) throw new TypeError('rate limit and window must be positive')
  const keyOf = (c: Context) => {
    const now = epochSeconds(clock)
    const window = Math.floor(now / windowSeconds)
    return {
      key: keys.rateLimit(bucket, callerAddress(c, trustProxy), window),
      retryAfter: (window + 1) * windowSeconds - now,
    }
  }
  return {
    async refuseIfExceeded(c: Context): Promise<void> {
      const { key, retryAfter } = keyOf(c)
      if (Number((await store.get(key)) ?? 0) >= limit) {
        throw new RateLimited('too many wrong codes, retry later', retryAfter)
      }
    },
    async recordFailure(c: Context): Promise<void> {
      await store.increment(keyOf(c).key, windowSeconds)
    },
  }
}
