import type { MiddlewareHandler } from 'hono'
import { HTTPException } from 'hono/http-exception'
import {
  AuthorizationErrorPage,
  AuthorizationErrorRedirect,
  MethodNotAllowed,
  NoSuchEndpoint,
  OAuthError,
} from '../errors.ts'
import { StoreUnavailable } from '../store/store.ts'
import type { AuthMetrics } from './auth-metrics.ts'

/**
 * Counts and times every request of the public app, labelled by the route pattern that answered
 * it (`/register/:client_id`, never the raw path, so the series stay bounded), the status class,
 * and the OAuth error code when an error answered. Mounted first, so its time covers the rest.
 * (Served by Node, `/verify` is answered before the app and metered there: `meteredForwardAuth`.)
 */
export function requestMetrics(metrics: AuthMetrics): MiddlewareHandler {
  // Each label combination's series looked up once: prom-client hashes a label object per call.
  const series = new Map<string, { count: () => void; time: (seconds: number) => void }>()
  const seriesOf = (route: string, status: number, error: string) => {
    const key = `${route} ${status} ${error}`
    let found = series.get(key)
    if (!found) {
      const counter = metrics.requests.labels(route, `${Math.floor(status / 100)}xx`, error)
      const histogram = metrics.requestDuration.labels(route)
      found = { count: () => counter.inc(), time: (seconds) => histogram.observe(seconds) }
      series.set(key, found)
    }
    return found
  }
  return async (c, next) => {
    const started = performance.now()
    const observe = (route: string, status: number, error: string) => {
      const { count, time } = seriesOf(route, status, error)
      count()
      time((performance.now() - started) / 1000)
    }
    try {
      await next()
    } catch (error) {
      // Only when no route matched: Hono then calls the not-found handler through this
      // middleware's `next` and its error comes back here before `onError` answers it.
      const status = error instanceof OAuthError ? error.status : 500
      observe('unmatched', status, errorCode(error))
      throw error
    }
    // After `next`, Hono's route index points at the last handler that ran: the route's own,
    // or a middleware's (`/account/*`) when no endpoint took the request and the not-found
    // handler answered it.
    const pattern = c.req.routePath
    const route =
      pattern === '*' || pattern === '/*' || answeredByNoEndpoint(c.error) ? 'unmatched' : pattern
    observe(route, c.res.status, c.error === undefined ? '' : errorCode(c.error))
  }
}

function answeredByNoEndpoint(error: unknown): boolean {
  return error instanceof NoSuchEndpoint || error instanceof MethodNotAllowed
}

/** The OAuth error code the error was answered with (as `error-response.ts` maps it). */
function errorCode(error: unknown): string {
  if (error instanceof OAuthError) return error.code
  if (error instanceof AuthorizationErrorPage || error instanceof AuthorizationErrorRedirect) {
    return error.error.code
  }
  if (error instanceof StoreUnavailable) return 'temporarily_unavailable'
  if (error instanceof HTTPException && error.status < 500) return 'invalid_request'
  return 'server_error'
}
