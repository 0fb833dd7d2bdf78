import { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mintAccessToken } from '../../../tests/support/access-tokens.ts'
import { manualClock, TEST_ISSUER } from '../../../tests/support/auth-app.ts'
import { createTestRedisStore } from '../../../tests/support/stores.ts'
import { systemClock } from '../clock.ts'
import { composeAuthServer } from '../compose-auth-server.ts'
import { type Config, loadConfig } from '../config.ts'
import type { AuthDeps } from '../deps.ts'
import { errorLogs, toOAuthResponse } from '../http/error-response.ts'
import { createLogger } from '../logger.ts'
import { protectedResourceGuard } from './protected-resource-guard.ts'

const ECHO_METADATA = `${TEST_ISSUER}/.well-known/oauth-protected-resource/echo/mcp`

/**
 * Step-up (MCP 2026-07-28, "Scope Challenge Handling"): a token without a scope the service
 * requires gets 403 `insufficient_scope` naming every scope the service needs in one challenge
 * (not only the missing one, so one re-authorization is enough) and where its metadata is; the
 * same at `/verify` and from the standalone guard. `offline_access` is never among them (SEP-2207).
 */
describe('insufficient_scope challenges of a service that needs several scopes', () => {
  let deps: AuthDeps
  let app: Hono
  let guarded: Hono
  let store: ReturnType<typeof createTestRedisStore>

  beforeAll(async () => {
    const loaded = loadConfig({
      AUTH_ISSUER: TEST_ISSUER,
      LOG_LEVEL: 'silent',
      ALLOWED_GITHUB_USERS: '*',
    })
    const config: Config = {
      ...loaded,
      protectedResources: loaded.protectedResources.map((r) =>
        r.service.name === 'echo'
          ? { ...r, service: { ...r.service, requiredScopes: ['mcp', 'files:write'] } }
          : r
      ),
    }
    store = createTestRedisStore()
    const logger = createLogger('silent')
    ;({ deps, app } = await composeAuthServer({ config, store, clock: manualClock(), logger }))
    const echo = config.protectedResources.find((r) => r.service.name === 'echo')
    if (!echo) throw new Error('echo is enabled by default')
    guarded = new Hono()
    guarded.use('/echo/mcp', protectedResourceGuard(deps, echo))
    guarded.all('/echo/mcp', (c) => c.body(null, 204))
    guarded.onError((error, c) => toOAuthResponse(error, c, errorLogs(logger, 0, systemClock)))
  })
  afterAll(async () => {
    await store.clear()
    await store.close()
  })

  const mint = (scope: string) => mintAccessToken(deps, { scope })
  const atVerify = async (token: string) =>
    app.request(`${TEST_ISSUER}/verify`, {
      headers: {
        'X-Forwarded-Proto': 'http',
        'X-Forwarded-Host': 'localhost:8080',
        'X-Forwarded-Uri': '/echo/mcp',
        Authorization: `Bearer ${token}`,
      },
    })
  const atGuard = async (token: string) =>
    guarded.request(`${TEST_ISSUER}/echo/mcp`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}` },
    })

  it('names every scope the service needs, and its metadata, at /verify and the guard', async () => {
    for (const scope of ['mcp', 'files:write', 'mcp offline_access', 'profile']) {
      const { token } = await mint(scope)
      for (const response of [await atVerify(token), await atGuard(token)]) {
        expect(response.status).toBe(403)
        const challenge = response.headers.get('www-authenticate') ?? ''
        expect(challenge).toMatch(/^Bearer error="insufficient_scope", /)
        expect(challenge).toContain('scope="mcp files:write"')
        expect(challenge).toContain(`resource_metadata="${ECHO_METADATA}"`)
        expect(challenge).not.toContain('offline_access')
      }
    }
    const { token } = await mint('mcp files:write')
    expect((await atVerify(token)).status).toBe(200)
    expect((await atGuard(token)).status).toBe(204)
  })

  it('asks in the challenge for what the metadata lists, no more', async () => {
    const metadata = (await (await app.request(ECHO_METADATA)).json()) as {
      scopes_supported: string[]
    }
    expect(metadata.scopes_supported).toEqual(['mcp', 'files:write'])
  })
})
