import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import type { TestAuthServer } from '../../../tests/support/auth-app.ts'
import {
  ALICE,
  browserFor,
  clientRequest,
  exchangeCode,
  type ManagedClient,
  manageClient,
  obtainCode,
  registerTestClient,
  tokenRequest,
  useFlowServer,
} from '../../../tests/support/oauth-flow.ts'
import { runCommand } from '../cli/run-command.ts'
import { systemClock } from '../clock.ts'
import { errorLogs, toOAuthResponse } from '../http/error-response.ts'
import { createLogger } from '../logger.ts'
import { keys } from '../store/keys.ts'
import { protectedResourceGuard } from '../verify/protected-resource-guard.ts'

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code'

describe('deleting a client revokes everything it holds', () => {
  let server: TestAuthServer
  useFlowServer({ ALLOWED_GITHUB_USERS: 'alice' }, (fixture) => {
    server = fixture.server
  })

  /** A client holding an access and a refresh token, a code not yet redeemed and a device code. */
  const clientHoldingEverything = async () => {
    const client = (await registerTestClient(server, {
      grant_types: ['authorization_code', 'refresh_token', DEVICE_GRANT],
    })) as ManagedClient
    const browser = browserFor(server)
    const first = await obtainCode(server, client, undefined, browser)
    const tokens = (await (await exchangeCode(server, client, first.code, first.pkce)).json()) as {
      access_token: string
      refresh_token: string
    }
    const pending = await obtainCode(server, client, undefined, browser)
    const device = (await (
      await clientRequest(server, client, '/device_authorization', {})
    ).json()) as {
      device_code: string
    }
    return { client, tokens, pending, deviceCode: device.device_code }
  }

  /** `/verify` for the echo service, as Traefik asks it. */
  const verify = (accessToken: string) =>
    server.request('/verify', {
      headers: {
        'X-Forwarded-Proto': 'http',
        'X-Forwarded-Host': 'localhost:8080',
        'X-Forwarded-Uri': '/echo/mcp',
        Authorization: `Bearer ${accessToken}`,
      },
    })

  /** The standalone guard in front of the echo service, with its own verifier and cache. */
  const guarded = () => {
    const echo = server.config.protectedResources.find((r) => r.service.name === 'echo')
    if (!echo) throw new Error('echo is enabled by default')
    const deps = { ...server, logger: createLogger('silent') }
    const app = new Hono()
    app.use('/echo/mcp', protectedResourceGuard(deps, echo))
    app.post('/echo/mcp', (c) => c.body(null, 204))
    app.onError((error, c) => toOAuthResponse(error, c, errorLogs(deps.logger, 0, systemClock)))
    return (accessToken: string) =>
      app.request('http://localhost:8080/echo/mcp', {
        method: 'POST',
        headers: { Authorization: `Bearer ${accessToken}` },
      })
  }

  const expectEverythingRefused = async (
    held: Awaited<ReturnType<typeof clientHoldingEverything>>
  ) => {
    const { client, tokens, pending, deviceCode } = held
    const refresh = await tokenRequest(server, client, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token,
    })
    expect(refresh.status).toBe(401)
    expect(await refresh.json()).toMatchObject({ error: 'invalid_client' })
    const code = await exchangeCode(server, client, pending.code, pending.pkce)
    expect(code.status).toBe(401)
    expect(await code.json()).toMatchObject({ error: 'invalid_client' })
    const device = await tokenRequest(server, client, {
      grant_type: DEVICE_GRANT,
      device_code: deviceCode,
    })
    expect(device.status).toBe(401)
    expect(await device.json()).toMatchObject({ error: 'invalid_client' })
    const consents = await runCommand(
      { config: server.config, store: server.store, clock: server.clock },
      ['consents', 'list', String(ALICE.id)]
    )
    expect((consents.data as { clients: string[] }).clients).not.toContain(client.client_id)
  }

  it('by RFC 7592 DELETE: /verify and the guard refuse its tokens within a second', async () => {
    const held = await clientHoldingEverything()
    const guard = guarded()
    expect((await verify(held.tokens.access_token)).status).toBe(200)
    expect((await guard(held.tokens.access_token)).status).toBe(204)

    const deleted = await manageClient(server, held.client, { method: 'DELETE' })
    expect(deleted.status).toBe(204)

    // A verifier that has not seen the token refuses it at once; one that has, within 1 s.
    const unseen = guarded()
    expect((await unseen(held.tokens.access_token)).status).toBe(401)
    server.clock.advance(1_000)
    const refused = await verify(held.tokens.access_token)
    expect(refused.status).toBe(401)
    expect(refused.headers.get('www-authenticate')).toContain('error="invalid_token"')
    expect((await guard(held.tokens.access_token)).status).toBe(401)

    await expectEverythingRefused(held)
  })

  it('by the admin CLI: the same revocation', async () => {
    const held = await clientHoldingEverything()
    expect((await verify(held.tokens.access_token)).status).toBe(200)
    const result = await runCommand(
      { config: server.config, store: server.store, clock: server.clock },
      ['clients', 'delete', held.client.client_id]
    )
    expect(result.data).toEqual({ client_id: held.client.client_id, deleted: true })
    server.clock.advance(1_000)
    expect((await verify(held.tokens.access_token)).status).toBe(401)
    await expectEverythingRefused(held)
  })

  it('a registration that never held a token and deletes itself leaves a marker for an hour, not a month', async () => {
    const deleteItself = async (client: ManagedClient) => {
      const deleted = await manageClient(server, client, { method: 'DELETE' })
      expect(deleted.status).toBe(204)
      return server.store.ttl(keys.revokedClient(client.client_id))
    }
    const unused = (await registerTestClient(server)) as ManagedClient
    const hour = server.config.ttl.accessToken
    expect(await deleteItself(unused)).toBeLessThanOrEqual(hour + 60)
    // One holding tokens keeps the marker while anything of it could live.
    const held = await clientHoldingEverything()
    expect(await deleteItself(held.client)).toBeGreaterThan(server.config.ttl.refreshToken)
  })

  it('leaves the tokens of other clients alone', async () => {
    const kept = await clientHoldingEverything()
    const gone = await clientHoldingEverything()
    await runCommand({ config: server.config, store: server.store, clock: server.clock }, [
      'clients',
      'delete',
      gone.client.client_id,
    ])
    server.clock.advance(1_000)
    expect((await verify(kept.tokens.access_token)).status).toBe(200)
    const refresh = await tokenRequest(server, kept.client, {
      grant_type: 'refresh_token',
      refresh_token: kept.tokens.refresh_token,
    })
    expect(refresh.status).toBe(200)
  })
})
