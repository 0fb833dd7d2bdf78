import { describe, expect, it } from 'vitest'
import { manualClock } from '../../../tests/support/auth-app.ts'
import { type FillableRedis, useFillableRedis } from '../../../tests/support/stores.ts'
import { deleteClient } from '../admin/client-deletion.ts'
import { createAuditTrail } from '../audit/audit-trail.ts'
import { rememberConsent } from '../authorization/consent.ts'
import { composeAuthServer } from '../compose-auth-server.ts'
import { loadConfig } from '../config.ts'
import { createLogger } from '../logger.ts'
import { keys } from '../store/keys.ts'
import { type Store, StoreFull } from '../store/store.ts'
import { lookUpRefreshToken } from '../tokens/refresh-token-lookup.ts'
import { startRefreshFamily } from '../tokens/refresh-tokens.ts'

/**
 * Revocation when Redis is full (`maxmemory`, `noeviction`): it is done whole, markers included,
 * so a revoked family's access tokens stop at once, not when they expire. A Redis of its own: a
 * tiny `maxmemory` would break every other test file.
 */
describe('revocation on a full Redis', () => {
  let redis: FillableRedis
  let store: Store
  const logs: Record<string, unknown>[] = []
  const logger = createLogger('info', {
    write: (line: string) => {
      logs.push(JSON.parse(line) as Record<string, unknown>)
    },
  })
  const lifetimes = { refreshTokenTtl: 3600, accessTokenTtl: 300 }
  const deletion = () => ({
    store,
    lifetimes,
    logger,
    audit: createAuditTrail({ logger, clock: manualClock(), store, streamMaxLength: 1_000 }),
  })

  useFillableRedis((started) => {
    redis = started
    store = started.store
  })
  const family = (familyId: string, clientId: string) =>
    startRefreshFamily(
      store,
      manualClock(),
      { familyId, clientId, subject: { id: '42', login: 'octo' }, scopes: [], resources: [] },
      lifetimes
    )

  it('deletes the family and its refresh token and writes the markers', async () => {
    const config = loadConfig({ AUTH_ISSUER: 'http://localhost:8080', LOG_LEVEL: 'info' })
    const { app } = await composeAuthServer({ config, store, clock: manualClock(), logger })
    const registered = await app.request('http://localhost:8080/register', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        redirect_uris: ['https://app.example.com/cb'],
        token_endpoint_auth_method: 'client_secret_post',
        grant_types: ['authorization_code', 'refresh_token'],
      }),
    })
    const client = (await registered.json()) as { client_id: string; client_secret: string }
    const refreshToken = await family('revoked-family', client.client_id)
    const otherClientFamily = await family('deleted-client-family', 'deleted-client')
    await store.put(keys.client('deleted-client'), '{}')
    await rememberConsent(
      store,
      manualClock(),
      { userId: '42', clientId: 'deleted-client', scopes: [], resources: [], redirectUris: [] },
      3600
    )
    await redis.fill()

    const response = await app.request('http://localhost:8080/revoke', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        token: refreshToken,
        client_id: client.client_id,
        client_secret: client.client_secret,
      }),
    })
    expect(response.status).toBe(200)
    expect(await lookUpRefreshToken(store, refreshToken)).toEqual({ outcome: 'unknown' })
    expect(await store.get(keys.refreshFamily('revoked-family'))).toBeNull()
    expect(await store.get(keys.revokedFamily('revoked-family'))).toBe('1')
    // The store is still full: only the revocation got past it.
    await expect(store.put('gateway-test:after', 'x')).rejects.toThrow(StoreFull)

    // Deleting a client (RFC 7592 or admin) too.
    expect(await deleteClient(deletion(), 'deleted-client', 'admin')).toBe(true)
    expect(await store.get(keys.client('deleted-client'))).toBeNull()
    expect(await store.get(keys.revokedClient('deleted-client'))).toBe('1')
    expect(await store.get(keys.revokedFamily('deleted-client-family'))).toBe('1')
    expect(await lookUpRefreshToken(store, otherClientFamily)).toEqual({ outcome: 'unknown' })
    expect(await store.setMembers(keys.clientFamilies('deleted-client'))).toEqual([])
    expect(await store.get(keys.consent('42', 'deleted-client'))).toBeNull()
  })

  it('keeps writing the marker first when there is room', async () => {
    await redis.makeRoom()
    const refreshToken = await family('roomy-family', 'roomy-client')
    const response = await deleteClient(deletion(), 'roomy-client', 'admin')
    expect(response).toBe(true)
    expect(await store.get(keys.revokedClient('roomy-client'))).toBe('1')
    expect(await store.get(keys.revokedFamily('roomy-family'))).toBe('1')
    expect(await lookUpRefreshToken(store, refreshToken)).toEqual({ outcome: 'unknown' })
  })
})
