import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mintAccessToken } from '../../../tests/support/access-tokens.ts'
import {
  createTestAuthServer,
  ECHO_FORWARDED_HEADERS,
  type TestAuthServer,
} from '../../../tests/support/auth-app.ts'
import { systemClock } from '../clock.ts'
import { errorLogs, toOAuthResponse } from '../http/error-response.ts'
import { publicRequestListener } from '../http/forward-auth-listener.ts'
import { createLogger } from '../logger.ts'
import { identityLookalike } from './identity-lookalikes.ts'
import { protectedResourceGuard } from './protected-resource-guard.ts'

const LOOKALIKES = ['X_User_Id', 'x_user_name', 'X-User_Email', 'X_CLIENT-ID', 'X_Auth_Scopes']

describe('identityLookalike', () => {
  it('names a field a downstream may read as an identity header or the bridge secret', () => {
    for (const name of [...LOOKALIKES, 'x_bridge_secret']) {
      expect(identityLookalike(['accept', name, 'x-user-id'])).toBe(name)
    }
  })

  it('leaves the real names, and other names with underscores, alone', () => {
    const names = ['x-user-id', 'X-Bridge-Secret', 'x_request_id', 'x_user_ids', 'user_id']
    expect(identityLookalike(names)).toBeUndefined()
  })
})

/**
 * A valid token with a lookalike header is refused wherever the gateway decides for an MCP server:
 * a proxy would pass the lookalike on, since it overwrites only the exact names.
 */
describe('a request carrying an identity lookalike', () => {
  let server: TestAuthServer
  let listener: Server
  let origin: string
  let guarded: string
  let closeGuarded: () => void
  let token: string

  beforeAll(async () => {
    // Tokens are minted below for any user: the gateway's own list admits them all.
    server = await createTestAuthServer({ ALLOWED_GITHUB_USERS: '*' })
    token = (await mintAccessToken(server)).token
    listener = createServer(publicRequestListener(server.app, server.forwardAuth))
    listener.listen(0, '127.0.0.1')
    await once(listener, 'listening')
    origin = `http://127.0.0.1:${(listener.address() as AddressInfo).port}`

    const echo = server.config.protectedResources.find((r) => r.service.name === 'echo')
    if (!echo) throw new Error('echo is enabled by default')
    const deps = { ...server, logger: createLogger('silent') }
    const app = new Hono()
    app.use('/echo/mcp', protectedResourceGuard(deps, echo))
    app.all('/echo/mcp', (c) => c.json({}))
    app.onError((error, c) => toOAuthResponse(error, c, errorLogs(deps.logger, 0, systemClock)))
    const standalone = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 })
    await once(standalone, 'listening')
    guarded = `http://127.0.0.1:${(standalone.address() as AddressInfo).port}/echo/mcp`
    closeGuarded = () => standalone.close()
  })
  afterAll(async () => {
    listener.closeAllConnections()
    listener.close()
    closeGuarded()
    await server.close()
  })

  const verifyHeaders = (extra: Record<string, string>) => ({
    ...ECHO_FORWARDED_HEADERS,
    Authorization: `Bearer ${token}`,
    ...extra,
  })

  it('is refused by /verify with 403 and no challenge, through the listener and the app', async () => {
    for (const name of LOOKALIKES) {
      const headers = verifyHeaders({ [name]: '1' })
      for (const response of [
        await fetch(`${origin}/verify`, { headers }),
        await server.request('/verify', { headers }),
      ]) {
        expect(response.status, name).toBe(403)
        expect(response.headers.get('www-authenticate')).toBeNull()
        expect(response.headers.get('x-user-id')).toBeNull()
      }
    }
  })

  it('is refused even as a CORS preflight, which /verify otherwise lets through', async () => {
    const headers = { ...ECHO_FORWARDED_HEADERS, 'X-Forwarded-Method': 'OPTIONS' }
    expect((await fetch(`${origin}/verify`, { headers })).status).toBe(200)
    const forged = { ...headers, X_User_Id: '1' }
    expect((await fetch(`${origin}/verify`, { headers: forged })).status).toBe(403)
  })

  it('leaves requests with other underscored headers alone', async () => {
    const headers = verifyHeaders({ X_Request_Id: 'abc' })
    expect((await fetch(`${origin}/verify`, { headers })).status).toBe(200)
  })

  it('is refused by the standalone guard before its service sees it', async () => {
    const headers = { Authorization: `Bearer ${token}` }
    expect((await fetch(guarded, { method: 'POST', headers })).status).toBe(200)
    const response = await fetch(guarded, {
      method: 'POST',
      headers: { ...headers, 'X-User_Id': '1' },
    })
    expect(response.status).toBe(403)
    expect(await response.json()).toMatchObject({ error: 'access_denied' })
  })
})
