import type { Context } from 'hono'
import type { AuthDeps } from '../deps.ts'
import { AuthorizationErrorPage, RateLimited } from '../errors.ts'
import { type RateLimitOptions, requestLimiter, type SignedInCaller } from '../http/rate-limit.ts'

/**
 * What a browser can make the gateway store before anyone has proved who they are: a consent
 * request per consent page shown (15 minutes), a pending sign-in per approval sent upstream (10
 * minutes). Each is limited per caller, so a flooder is refused while everyone else is served,
 * and for all callers together, so the total stays bounded however many addresses a flood comes
 * from. A signed-in browser's consent pages count per user and against a global limit of their
 * own (`requestLimiter`). So at most 2 × 300 × 16 consent requests and 300 × 11 pending sign-ins
 * are alive at once (a window more than their lifetime), each under 8.3 KiB
 * (`MAX_AUTHORIZATION_REQUEST_BYTES` plus a hash or a verifier), about 105 MiB in all. A person
 * never opens 60 consent pages in a minute.
 */
const LIMITS = {
  consentRequest: { bucket: 'consent-request', limit: 60, globalLimit: 300 },
  pendingAuthorization: { bucket: 'pending-authorization', limit: 60, globalLimit: 300 },
} as const

const WINDOW_SECONDS = 60

/**
 * Counts one write of the kind; over a limit, a 429 page (these are browser pages). A signed-in
 * browser's writes are its user's, counted per user and outside the global limit
 * (`requestLimiter`): a flood from a few addresses does not stop someone who may use the gateway
 * from connecting a client.
 */
export function anonymousWriteLimit(deps: AuthDeps, kind: keyof typeof LIMITS): PageLimit {
  return pageLimit(deps, {
    windowSeconds: WINDOW_SECONDS,
    description: 'too many authorization requests at once; wait a minute and start again',
    ...LIMITS[kind],
  })
}

/** Counts one request of a browser page; over a limit, a 429 page rather than JSON. */
export type PageLimit = (c: Context, signedIn?: SignedInCaller | null) => Promise<void>

/** A rate limit of a page a person's browser opens or posts to (`requestLimiter`'s counting). */
export function pageLimit(
  deps: AuthDeps,
  options: Omit<RateLimitOptions, 'store' | 'clock' | 'trustProxy'>
): PageLimit {
  const count = requestLimiter({
    store: deps.store,
    clock: deps.clock,
    trustProxy: deps.config.trustProxy,
    ...options,
  })
  return async (c, signedIn) => {
    try {
      await count(c, signedIn)
    } catch (error) {
      throw error instanceof RateLimited ? new AuthorizationErrorPage(error) : error
    }
  }
}
