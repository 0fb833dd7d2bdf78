import type { MiddlewareHandler } from 'hono'
import { onBehalfOf } from '../audit/audit-trail.ts'
import type { TrustProxy } from '../trusted-proxies.ts'
import { auditAddress } from './caller.ts'

/**
 * Middleware for the endpoints whose work is audited: the rest of the request runs knowing its
 * caller's address, so domain code records events without passing the HTTP request around. Not
 * mounted on `/verify` (nothing there is audited, and it is the hot path).
 */
export const auditedRequest =
  (trustProxy: TrustProxy): MiddlewareHandler =>
  (c, next) =>
    onBehalfOf(auditAddress(c, trustProxy), next)
