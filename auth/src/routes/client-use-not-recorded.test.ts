import { describe, expect, it } from 'vitest'
import { registerClient, type TestAuthServer } from '../../../tests/support/auth-app.ts'
import { useServerLosingCommands } from '../../../tests/support/redis-acl-users.ts'

/**
 * Recording a client's use comes after what it asked for was issued. A store failing at that
 * moment (here a Redis user no longer allowed `TTL`, the one command the recording sends first) is
 * logged, and the client gets what was issued: answered with an error, it would start a second
 * device authorization, or come back with a refresh token already rotated.
 */
describe('a store failing once a device authorization is started', () => {
  let server: TestAuthServer
  useServerLosingCommands(['ttl'], (started) => {
    server = started
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
