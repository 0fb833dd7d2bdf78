import { afterAll, describe, expect, it } from 'vitest'
import { createTestRedisStore } from '../../../tests/support/stores.ts'
import { InvalidToken } from '../errors.ts'
import { keys } from '../store/keys.ts'
import type { ClientMetadata } from './client-metadata.ts'
import {
  type ClientRegistryDeps,
  findClient,
  registerClient,
  updateClient,
} from './client-registry.ts'

/**
 * RFC 7592 §2.2 update against deletion and expiry: the client record is read when the request is
 * authorized and written later, so the write itself must refuse a client that is gone meanwhile.
 */
describe('updating a registration', () => {
  const store = createTestRedisStore()
  const deps: ClientRegistryDeps = { store, clock: { now: () => Date.now() }, clientLifetime: 1000 }
  afterAll(async () => {
    await store.clear()
    await store.close()
  })

  const metadata = (name: string) =>
    ({
      client_name: name,
      redirect_uris: ['https://app.example.com/cb'],
      token_endpoint_auth_method: 'none',
    }) as unknown as ClientMetadata
  const registered = async () => (await registerClient(deps, metadata('Before'))).client

  it('does not re-create a client deleted between the authorization and the write', async () => {
    const client = await registered()
    await store.delete(keys.client(client.client_id))
    await expect(updateClient(deps, client, metadata('After'))).rejects.toBeInstanceOf(InvalidToken)
    expect(await findClient(deps, client.client_id)).toBeNull()
  })

  it('keeps the remaining lifetime', async () => {
    const client = await registered()
    await store.expire(keys.client(client.client_id), 500)
    await updateClient(deps, client, metadata('After'))
    const remaining = await store.ttl(keys.client(client.client_id))
    expect(remaining).toBeGreaterThan(490)
    expect(remaining).toBeLessThanOrEqual(500)
    expect((await findClient(deps, client.client_id))?.metadata.client_name).toBe('After')
  })

  it('refuses a client that expired meanwhile, as an unknown client, and writes nothing', async () => {
    const client = await registered()
    await store.expire(keys.client(client.client_id), 1)
    await new Promise((resolve) => setTimeout(resolve, 1100))
    const refusal = await updateClient(deps, client, metadata('After')).catch((error) => error)
    expect(refusal).toBeInstanceOf(InvalidToken)
    expect(refusal).toMatchObject({ reason: 'unknown_client' })
    expect(await store.get(keys.client(client.client_id))).toBeNull()
  })
})
