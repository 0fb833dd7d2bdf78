import { decodeJwt } from 'jose'
import { afterAll, describe, expect, it } from 'vitest'
import { manualClock } from '../../../tests/support/auth-app.ts'
import { createTestRedisStore } from '../../../tests/support/stores.ts'
import { loadSigningKeys } from '../keys/signing-keys.ts'
import { issueAccessToken } from './access-token.ts'

describe('an access token’s lifetime', () => {
  const store = createTestRedisStore()
  afterAll(async () => {
    await store.clear()
    await store.close()
  })

  it('lasts at least the lifetime the token response promises, from whenever in a second it is issued', async () => {
    const keys = await loadSigningKeys(store, undefined)
    for (const millis of [0, 1, 500, 999]) {
      const clock = manualClock(Date.UTC(2030, 0, 1, 12, 0, 0, millis))
      const { token } = await issueAccessToken(
        {
          issuer: 'http://localhost:8080',
          subject: { id: '1', login: 'octocat' },
          clientId: 'c',
          audience: ['http://localhost:8080/echo/mcp'],
          scope: 'mcp',
          ttlSeconds: 6,
        },
        keys,
        clock
      )
      const { iat = 0, exp = 0 } = decodeJwt(token)
      // `expires_in` says 6: the token must still pass then, and not a second past it.
      expect(exp * 1000).toBeGreaterThanOrEqual(clock.now() + 6_000)
      expect(exp * 1000).toBeLessThan(clock.now() + 7_000)
      expect(iat * 1000).toBeLessThanOrEqual(clock.now())
    }
  })
})
