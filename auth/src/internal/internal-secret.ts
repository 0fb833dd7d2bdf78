import { createHash, timingSafeEqual } from 'node:crypto'
import type { MiddlewareHandler } from 'hono'
import { InvalidToken, MissingToken } from '../errors.ts'

/**
 * Every internal request carries `Authorization: Bearer <INTERNAL_API_SECRET>`: the internal
 * port is on networks other containers share, and it hands out users' GitHub tokens. Compared in
 * constant time (both sides hashed to equal length first).
 */
export function internalSecretCheck(
  secret: string,
  /** How the refusal names the credential; a scraper's is not the internal API's secret. */
  named = {
    missing: 'the internal API requires its secret',
    wrong: 'the internal API secret is wrong',
  }
): MiddlewareHandler {
  const expected = digest(secret)
  return async (c, next) => {
    const header = c.req.header('authorization')
    const presented = header?.match(/^Bearer +(\S+)$/i)?.[1]
    if (header === undefined) {
      throw new MissingToken(named.missing, {
        reason: 'internal_secret_missing',
      })
    }
    if (presented === undefined || !timingSafeEqual(digest(presented), expected)) {
      throw new InvalidToken(named.wrong, {
        reason: 'internal_secret_wrong',
      })
    }
    await next()
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest()
}
