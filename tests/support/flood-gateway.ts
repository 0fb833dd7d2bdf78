import type { Server } from 'node:http'
import { serve } from '@hono/node-server'
import { systemClock } from '../../auth/src/clock.ts'
import { composeAuthServer } from '../../auth/src/compose-auth-server.ts'
import { loadConfig } from '../../auth/src/config.ts'
import type { AuthDeps } from '../../auth/src/deps.ts'
import { createLogger } from '../../auth/src/logger.ts'
import type { Store } from '../../auth/src/store/store.ts'
import type { GatewayRequest } from './device-page.ts'
import { freePort } from './free-port.ts'
import { httpClientFrom } from './http-from.ts'

/**
 * The authorization server on a real loopback port over `store`, on the system clock (so rate
 * windows pass as they would in production), with ALICE allowed through the development sign-in.
 */
export interface FloodGateway {
  readonly url: string
  readonly deps: AuthDeps
  close(): Promise<void>
}

export async function startGateway(
  store: Store,
  env: Record<string, string> = {}
): Promise<FloodGateway> {
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const config = loadConfig({
    AUTH_ISSUER: url,
    ALLOWED_GITHUB_USERS: 'alice',
    LOG_LEVEL: 'silent',
    ...env,
  })
  const { deps, app } = await composeAuthServer({
    config,
    store,
    clock: systemClock,
    // Only failures log at this level: a 5xx during the flood shows its cause.
    logger: createLogger('error'),
  })
  const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port }) as Server
  if (!server.listening) await new Promise((resolve) => server.once('listening', resolve))
  return {
    url,
    deps,
    async close() {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
      await store.close()
    },
  }
}

/** One caller: a source address of its own, speaking to the gateway over HTTP. */
export function callerAt(gateway: FloodGateway, address: string) {
  const http = httpClientFrom(address)
  const request: GatewayRequest = async (path, init = {}) => {
    const response = await http.send(`${gateway.url}${path}`, {
      method: init.method ?? 'GET',
      headers: (init.headers ?? {}) as Record<string, string>,
      ...(typeof init.body === 'string' ? { body: init.body } : {}),
    })
    const headers = new Headers()
    for (const [name, value] of Object.entries(response.headers)) {
      for (const item of [value ?? []].flat()) headers.append(name, item)
    }
    return new Response(response.body, { status: response.status, headers })
  }
  const form = (path: string, params: Record<string, string>) =>
    request(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(params).toString(),
    })
  return {
    request,
    register: (body: string) =>
      request('/register', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body,
      }),
    startDevice: (clientId: string) => form('/device_authorization', { client_id: clientId }),
    refresh: (client: { client_id: string; client_secret: string }, refreshToken: string) =>
      form('/token', { grant_type: 'refresh_token', refresh_token: refreshToken, ...client }),
    close: () => http.close(),
  }
}
export type Caller = ReturnType<typeof callerAt>
