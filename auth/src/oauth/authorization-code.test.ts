import { afterAll, beforeEach, describe, expect, it } from 'vitest'
import { createTestRedisStore } from '../../../tests/support/stores.ts'
import { keys } from '../store/keys.ts'
import {
  type AuthorizationCodeGrant,
  issueAuthorizationCode,
  redeemAuthorizationCode,
} from './authorization-code.ts'
import { hashSecret, newSecret } from './secrets.ts'

const grant: AuthorizationCodeGrant = {
  clientId: 'client-1',
  redirectUri: 'https://app.example/callback',
  codeChallenge: 'challenge',
  scopes: ['mcp'],
  resources: ['https://gateway.example/echo/mcp'],
  subject: { id: '1001', login: 'alice' },
  familyId: 'family-1',
}

describe('authorization codes (Redis)', () => {
  const store = createTestRedisStore()
  beforeEach(() => store.clear())
  afterAll(async () => {
    await store.clear()
    await store.close()
  })

  it('redeems a code once, and knows its family when it comes back', async () => {
    const code = await issueAuthorizationCode(store, grant, 60)
    expect(code.startsWith(`${grant.familyId}.`)).toBe(true)
    expect(await redeemAuthorizationCode(store, code, 600)).toEqual({ outcome: 'redeemed', grant })
    expect(await redeemAuthorizationCode(store, code, 600)).toEqual({
      outcome: 'replayed',
      familyId: grant.familyId,
    })
  })

  it('finds nothing for a made-up code that names a real family, and marks nothing', async () => {
    await issueAuthorizationCode(store, grant, 60)
    const forged = `${grant.familyId}.${newSecret()}`
    expect(await redeemAuthorizationCode(store, forged, 600)).toEqual({ outcome: 'unknown' })
    expect(await store.get(keys.redeemedCode(hashSecret(forged)))).toBeNull()
  })

  it('still redeems a code issued before codes named their family', async () => {
    const code = newSecret()
    await store.put(keys.authorizationCode(hashSecret(code)), JSON.stringify(grant), {
      ttlSeconds: 60,
    })
    expect(await redeemAuthorizationCode(store, code, 600)).toEqual({ outcome: 'redeemed', grant })
    expect(await redeemAuthorizationCode(store, code, 600)).toEqual({
      outcome: 'replayed',
      familyId: grant.familyId,
    })
  })

  it('lets exactly one of many concurrent redemptions win', async () => {
    const code = await issueAuthorizationCode(store, grant, 60)
    const outcomes = await Promise.all(
      Array.from({ length: 50 }, () => redeemAuthorizationCode(store, code, 600))
    )
    expect(outcomes.filter((o) => o.outcome === 'redeemed')).toHaveLength(1)
    expect(outcomes.filter((o) => o.outcome === 'replayed')).toHaveLength(49)
  })
})
