import { describe, expect, it } from 'vitest'
import { revokeOnAccountPage } from '../../../tests/support/account-page.ts'
import { TEST_ISSUER, type TestAuthServer } from '../../../tests/support/auth-app.ts'
import type { HeadlessBrowser } from '../../../tests/support/headless-browser.ts'
import {
  approveDevice,
  browserFor,
  clientRequest,
  DEVICE_GRANT,
  exchangeCode,
  newPkce,
  obtainCode,
  type RegisteredClient,
  registerTestClient,
  tokenRequest,
  useFlowServer,
} from '../../../tests/support/oauth-flow.ts'
import { runCommand } from '../cli/run-command.ts'

/**
 * A code issued, or a device code approved, just before a revocation already names the family its
 * tokens would start. Redeemed after the revocation it must yield nothing: not after a Revoke on
 * `/account`, not after `consents revoke`, not after `tokens revoke` by user or by client.
 */
describe('revocations reach grants not redeemed yet', () => {
  let server: TestAuthServer
  useFlowServer({ ALLOWED_GITHUB_USERS: 'alice' }, (fixture) => {
    server = fixture.server
  })
  const admin = (args: string[]) =>
    runCommand({ config: server.config, store: server.store, clock: server.clock }, args)

  /** A client of both flows (a desktop app with a CLI of its own), approved by Alice. */
  const registerApp = () =>
    registerTestClient(server, {
      client_name: 'Two-flow App',
      grant_types: ['authorization_code', DEVICE_GRANT, 'refresh_token'],
    })

  /** The device asks, Alice approves in `browser`; the device has not polled yet. */
  const approvedDeviceCode = async (client: RegisteredClient, browser: HeadlessBrowser) => {
    const device = (await (
      await clientRequest(server, client, '/device_authorization', {})
    ).json()) as {
      device_code: string
      user_code: string
      verification_uri_complete: string
    }
    expect((await approveDevice(browser, device)).body).toContain('Device connected')
    return device.device_code
  }
  const poll = (client: RegisteredClient, deviceCode: string) => {
    // Past the pacing interval, so the answer is about the grant, not `slow_down`.
    server.clock.advance(10_001)
    return tokenRequest(server, client, { grant_type: DEVICE_GRANT, device_code: deviceCode })
  }

  it('a Revoke on /account: the unredeemed code is invalid_grant, the approved device access_denied', async () => {
    const client = await registerApp()
    const browser = browserFor(server)
    const pending = await obtainCode(server, client, newPkce(), browser)
    const deviceCode = await approvedDeviceCode(client, browser)
    const logsBefore = server.logs.length

    await revokeOnAccountPage(browser, client.client_id)

    const exchange = await exchangeCode(server, client, pending.code, pending.pkce)
    expect(exchange.status).toBe(400)
    expect(await exchange.json()).toMatchObject({ error: 'invalid_grant' })
    const polled = await poll(client, deviceCode)
    expect(polled.status).toBe(400)
    expect(await polled.json()).toMatchObject({
      error: 'access_denied',
      error_description: 'the authorization was withdrawn',
    })
    const logged = server.logs.slice(logsBefore)
    expect(logged.filter((line) => line.event === 'token.issued')).toEqual([])
    expect(logged).toContainEqual(
      expect.objectContaining({
        event: 'authorization.consent_revoked',
        by: 'user',
        client_id: client.client_id,
        families: 0,
        pending_grants: 2,
      })
    )
    // Nothing of the app is left on the page: no family was started for either grant.
    const after = await browser.open(`${TEST_ISSUER}/account`, 'about:')
    expect(after.body).not.toContain(client.client_id)
  })

  it('leaves the grants of other clients and other users alone', async () => {
    const revoked = await registerApp()
    const kept = await registerApp()
    const browser = browserFor(server)
    await obtainCode(server, revoked, newPkce(), browser)
    const keptCode = await obtainCode(server, kept, newPkce(), browser)
    const keptDevice = await approvedDeviceCode(kept, browser)

    await revokeOnAccountPage(browser, revoked.client_id)

    expect((await exchangeCode(server, kept, keptCode.code, keptCode.pkce)).status).toBe(200)
    expect((await poll(kept, keptDevice)).status).toBe(200)
  })

  it('consents revoke, by an operator, does the same', async () => {
    const client = await registerApp()
    const browser = browserFor(server)
    const pending = await obtainCode(server, client, newPkce(), browser)
    const deviceCode = await approvedDeviceCode(client, browser)

    const withdrawn = await admin(['consents', 'revoke', '1001', client.client_id])
    expect(withdrawn.data).toMatchObject({ revoked_families: [], withdrawn: true })
    expect(
      (withdrawn.data as { revoked_pending_grants: string[] }).revoked_pending_grants
    ).toHaveLength(2)

    const exchange = await exchangeCode(server, client, pending.code, pending.pkce)
    expect(await exchange.json()).toMatchObject({ error: 'invalid_grant' })
    expect(await (await poll(client, deviceCode)).json()).toMatchObject({ error: 'access_denied' })
  })

  for (const selector of ['--user', '--client'] as const) {
    it(`tokens revoke ${selector} marks the unredeemed code and the approved device code`, async () => {
      const client = await registerApp()
      const browser = browserFor(server)
      const pending = await obtainCode(server, client, newPkce(), browser)
      const deviceCode = await approvedDeviceCode(client, browser)
      // A device authorization nobody answered yet is no grant: a later approval is a new one.
      const unanswered = (await (
        await clientRequest(server, client, '/device_authorization', {})
      ).json()) as {
        device_code: string
      }

      const revoked = await admin([
        'tokens',
        'revoke',
        selector,
        selector === '--user' ? 'alice' : client.client_id,
      ])
      expect(revoked.exitCode).toBeUndefined()
      const data = revoked.data as {
        revoked: { client_id: string }[]
        pending_grants: string[]
      }
      // Neither grant has a family yet (by user, the families of the tests before do).
      expect(data.revoked.filter((family) => family.client_id === client.client_id)).toEqual([])
      // By user, codes left unredeemed by the tests before count too.
      expect(data.pending_grants.length).toBeGreaterThanOrEqual(2)
      expect(data.pending_grants).toContain(pending.code.slice(0, pending.code.indexOf('.')))

      const exchange = await exchangeCode(server, client, pending.code, pending.pkce)
      expect(await exchange.json()).toMatchObject({ error: 'invalid_grant' })
      expect(await (await poll(client, deviceCode)).json()).toMatchObject({
        error: 'access_denied',
      })
      expect(await (await poll(client, unanswered.device_code)).json()).toMatchObject({
        error: 'authorization_pending',
      })
    })
  }
})
