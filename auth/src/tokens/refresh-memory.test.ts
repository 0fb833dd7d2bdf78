import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import type { TestAuthServer } from '../../../tests/support/auth-app.ts'
import {
  exchangeCode,
  obtainCode,
  type RegisteredClient,
  registerTestClient,
  tokenRequest,
  useFlowServer,
} from '../../../tests/support/oauth-flow.ts'

type Tokens = { access_token: string; refresh_token: string }

/** Keys that are not a user's: shared, per request, or living only the reuse grace (below). */
const NOT_PER_USER = /^(rate|audit-trail|signing-keys|session|refresh-successor|probe)\b/

/**
 * What Redis holds for a live user (client, consent, refresh family, GitHub grant and checks)
 * must not grow with the number of rotations: after a month of hourly refreshes it is what it is
 * after the first one. The clock is the gateway's (manual); Redis' own clock does not move, so
 * keys with a TTL shorter than the month are still there unless the gateway stopped writing them.
 */
describe('Redis memory per live user does not follow the rotation rate', () => {
  let server: TestAuthServer
  const redis = new Redis(inject('redisUrl'))
  let prefix = ''
  useFlowServer({ ALLOWED_GITHUB_USERS: 'alice' }, (fixture) => {
    ;({ server } = fixture)
  })
  beforeAll(async () => {
    // The test store's prefix is its own: find it from a key written through it.
    await server.store.put('probe', '1', { ttlSeconds: 60 })
    const [, [found]] = await redis.scan('0', 'MATCH', 'test:*:probe', 'COUNT', 100_000)
    prefix = (found ?? '').slice(0, -'probe'.length)
    expect(prefix).toMatch(/^test:.+:$/)
  })
  afterAll(async () => {
    redis.disconnect()
  })

  /** The user's keys, each with `MEMORY USAGE`, by logical key with hashes and ids masked. */
  const footprint = async () => {
    const rows: { kind: string; bytes: number }[] = []
    for await (const key of server.store.scan('')) {
      if (NOT_PER_USER.test(key)) continue
      const bytes = Number(await redis.call('MEMORY', 'USAGE', prefix + key, 'SAMPLES', '0'))
      rows.push({ kind: key.split(':')[0] ?? key, bytes })
    }
    rows.sort((a, b) => a.kind.localeCompare(b.kind))
    return { keys: rows.map((row) => row.kind), bytes: rows.reduce((sum, r) => sum + r.bytes, 0) }
  }
  const refresh = async (client: RegisteredClient, refreshToken: string) => {
    const response = await tokenRequest(server, client, {
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
    })
    expect(response.status).toBe(200)
    return (await response.json()) as Tokens
  }

  it('after 720 hourly refreshes equals that of a fresh user, in keys and in bytes', async () => {
    const client = await registerTestClient(server)
    const { code, pkce } = await obtainCode(server, client)
    let tokens = (await (await exchangeCode(server, client, code, pkce)).json()) as Tokens
    server.clock.advance(3_600_000)
    tokens = await refresh(client, tokens.refresh_token)
    const fresh = await footprint()
    expect(fresh.keys).toEqual(
      expect.arrayContaining(['client', 'consent', 'family', 'refresh', 'user-families'])
    )

    for (let hour = 2; hour <= 720; hour++) {
      server.clock.advance(3_600_000)
      tokens = await refresh(client, tokens.refresh_token)
    }
    const month = await footprint()
    expect(month.keys).toEqual(fresh.keys)
    expect(month.bytes).toBe(fresh.bytes)
    // What the reuse grace keeps lives the grace (seconds), whatever the gateway's clock says.
    for await (const key of server.store.scan('refresh-successor:')) {
      expect((await server.store.ttl(key)) ?? 0).toBeLessThanOrEqual(
        server.config.refreshTokenReuseGrace
      )
    }
    console.info(`per live user: ${month.keys.join(' ')}: ${month.bytes} bytes`)
  }, 180_000)
})
