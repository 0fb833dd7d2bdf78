import { decodeJwt } from 'jose'
import { describe, expect, it } from 'vitest'
import { revokeOnAccountPage } from '../../../tests/support/account-page.ts'
import { ECHO_FORWARDED_HEADERS, type TestAuthServer } from '../../../tests/support/auth-app.ts'
import {
  ALICE,
  browserFor,
  exchangeCode,
  newPkce,
  obtainCode,
  type RegisteredClient,
  registerTestClient,
  useFlowServer,
} from '../../../tests/support/oauth-flow.ts'
import { runCommand } from '../cli/run-command.ts'
import { keys } from '../store/keys.ts'

/**
 * A client registered without the refresh grant gets an access token alone. Its family holds no
 * refresh token, yet every revocation of the user's, the client's or the consent's tokens must
 * reach that access token for as long as it lives, as it reaches the families of refreshing
 * clients, not only while the code's own index entry would have lasted (`AUTH_CODE_TTL`).
 */
describe('revoking the tokens of a client without the refresh grant', () => {
  let server: TestAuthServer
  useFlowServer({ ALLOWED_GITHUB_USERS: 'alice' }, (fixture) => {
    server = fixture.server
  })
  const admin = (args: string[]) =>
    runCommand({ config: server.config, store: server.store, clock: server.clock }, args)

  const verify = async (accessToken: string) => {
    // Past the second a "not revoked" answer is believed for.
    server.clock.advance(1_001)
    const answer = await server.request('/verify', {
      headers: { ...ECHO_FORWARDED_HEADERS, Authorization: `Bearer ${accessToken}` },
    })
    return answer.status
  }

  /** Signed in through a code-only client; the code's grant index is gone, as minutes later. */
  const accessOnly = async (
    browser = browserFor(server)
  ): Promise<{ client: RegisteredClient; accessToken: string }> => {
    const client = await registerTestClient(server, {
      client_name: 'Code only',
      grant_types: ['authorization_code'],
    })
    const { code, pkce } = await obtainCode(server, client, newPkce(), browser)
    const tokens = (await (await exchangeCode(server, client, code, pkce)).json()) as {
      access_token: string
      refresh_token?: string
    }
    expect(tokens.refresh_token).toBeUndefined()
    await server.store.delete(keys.pendingFamilies(String(ALICE.id), client.client_id))
    expect(await verify(tokens.access_token)).toBe(200)
    return { client, accessToken: tokens.access_token }
  }

  it('lists the token and its expiry among the families, and `tokens revoke --user` ends it', async () => {
    const { client, accessToken } = await accessOnly()
    const listed = await admin(['tokens', 'list', '--client', client.client_id])
    const exp = decodeJwt(accessToken).exp as number
    const [family] = listed.data as { id: string; expires_at: string }[]
    expect(family?.id).toBe(decodeJwt(accessToken).fam)
    // It lives as long as its access token (a few seconds' margin), not a refresh lifetime.
    const expiresAt = Date.parse(family?.expires_at ?? '') / 1000
    expect(expiresAt).toBeGreaterThanOrEqual(exp)
    expect(expiresAt).toBeLessThanOrEqual(exp + 70)

    const revoked = await admin(['tokens', 'revoke', '--user', 'alice'])
    expect(revoked.exitCode).toBeUndefined()
    expect(await verify(accessToken)).toBe(401)
  })

  it('`tokens revoke --client` ends it', async () => {
    const { client, accessToken } = await accessOnly()
    const revoked = await admin(['tokens', 'revoke', '--client', client.client_id])
    expect(revoked.exitCode).toBeUndefined()
    expect(await verify(accessToken)).toBe(401)
  })

  it('`consents revoke` ends it, and names its family', async () => {
    const { client, accessToken } = await accessOnly()
    const withdrawn = await admin(['consents', 'revoke', String(ALICE.id), client.client_id])
    expect(withdrawn.data).toMatchObject({
      withdrawn: true,
      revoked_families: [decodeJwt(accessToken).fam],
    })
    expect(await verify(accessToken)).toBe(401)
  })

  it('writes no marker for an index member whose family has expired, on client deletion', async () => {
    const { client, accessToken } = await accessOnly()
    const live = decodeJwt(accessToken).fam as string
    const second = await accessOnly()
    const gone = decodeJwt(second.accessToken).fam as string
    // As an hour later: the second family's record expired, its member still in the sets.
    await server.store.delete(keys.refreshFamily(gone))
    await server.store.addToSet(keys.clientFamilies(client.client_id), gone)
    expect(await admin(['clients', 'delete', client.client_id])).toMatchObject({
      data: { deleted: true },
    })
    expect(await server.store.get(keys.revokedFamily(live))).toBe('1')
    expect(await server.store.get(keys.revokedFamily(gone))).toBeNull()
    expect(await verify(accessToken)).toBe(401)
  })

  it('a Revoke on /account ends it', async () => {
    const browser = browserFor(server)
    const { client, accessToken } = await accessOnly(browser)
    const page = await browser.open(`${server.config.issuer}/account`, 'about:')
    expect(page.body).toContain('Code only')
    await revokeOnAccountPage(browser, client.client_id)
    expect(await verify(accessToken)).toBe(401)
  })
})
