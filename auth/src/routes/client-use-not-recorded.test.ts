import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import {
  createTestAuthServer,
  registerClient,
  type TestAuthServer,
} from '../../../tests/support/auth-app.ts'
import { createRedisStore } from '../store/redis-store.ts'

/**
 * Recording a client's use comes after what it asked for was issued. A store failing at that
 * moment (here a Redis user not allowed `TTL`, the one command the recording sends first) is
 * logged, and the client gets what was issued: answered with an error, it would start a second
 * device authorization, or come back with a refresh token already rotated.
 */
describe('a store failing once a device authorization is started', () => {
  const user = `no-ttl-${randomUUID()}`
  let admin: Redis
  let server: TestAuthServer
  beforeAll(async () => {
    admin = new Redis(inject('redisUrl'))
    await admin.acl('SETUSER', user, 'on', 'nopass', '~*', '&*', '+@all', '-ttl')
    const url = new URL(inject('redisUrl'))
    url.username = user
    const store = createRedisStore(url.toString(), `test:${randomUUID()}:`)
    server = await createTestAuthServer(
      {},
      {
        store: Object.assign(store, {
          async clear() {
            const found: string[] = []
            for await (const key of store.scan('')) found.push(key)
            if (found.length > 0) await store.delete(...found)
          },
        }),
      }
    )
  })
  afterAll(async () => {
    await server.close()
    await admin.acl('DELUSER', user)
    await admin.quit()
  })

  it('answers the device code and logs client_use_not_recorded', async () => {
    const registration = await registerClient(server, {
      redirect_uris: [],
      grant_types: ['urn:ietf:params:oauth:grant-type:device_code'],
      token_endpoint_auth_method: 'none',
    })
    const { client_id } = (await registration.json()) as { client_id: string }
    const response = await server.request('/device_authorization', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id }).toString(),
    })
    expect(response.status, await response.clone().text()).toBe(200)
    expect(await response.json()).toHaveProperty('device_code')
    expect(server.logs).toContainEqual(
      expect.objectContaining({ event: 'client_use_not_recorded', client_id })
    )
  })
})
