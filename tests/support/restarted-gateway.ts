import { composeAuthServer } from '../../auth/src/compose-auth-server.ts'
import { createLogger } from '../../auth/src/logger.ts'
import { ECHO_FORWARDED_HEADERS, TEST_ISSUER, type TestAuthServer } from './auth-app.ts'
import type { RegisteredClient } from './oauth-flow.ts'

/** The gateway of `server` started again on the same store and clock, as after a restart. */
export async function restartedGateway(server: TestAuthServer) {
  const { app } = await composeAuthServer({
    config: server.config,
    store: server.store,
    clock: server.clock,
    logger: createLogger('silent'),
  })
  const request = (path: string, init?: RequestInit) =>
    Promise.resolve(app.request(`${TEST_ISSUER}${path}`, init))
  const verify = (token: string) =>
    request('/verify', {
      headers: { ...ECHO_FORWARDED_HEADERS, Authorization: `Bearer ${token}` },
    })
  const refresh = (client: RegisteredClient, refreshToken: string) =>
    request('/token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: refreshToken,
        client_id: client.client_id,
        client_secret: client.client_secret ?? '',
      }).toString(),
    })
  return { verify, refresh }
}
