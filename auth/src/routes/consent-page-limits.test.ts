import { describe, expect, it } from 'vitest'
import { TEST_ISSUER, type TestAuthServer } from '../../../tests/support/auth-app.ts'
import {
  authorizeUrl,
  browserFor,
  newPkce,
  type RegisteredClient,
  registerTestClient,
  signInInBrowser,
  useFlowServer,
} from '../../../tests/support/oauth-flow.ts'

/**
 * The consent pages anyone may open are limited per caller (60 a minute) and for all callers
 * together (300): a few addresses can spend the shared part, and then only anonymous callers are
 * refused. A signed-in browser's pages are its user's, counted on their own.
 */
describe('consent pages under a flood from several addresses', () => {
  let server: TestAuthServer
  useFlowServer({ ALLOWED_GITHUB_USERS: 'alice' }, (fixture) => {
    server = fixture.server
  })

  const consentPageFrom = async (client: RegisteredClient, remoteAddress: string) =>
    (
      await server.app.request(authorizeUrl(client, newPkce()), undefined, {
        incoming: { socket: { remoteAddress } },
      })
    ).status

  it('refuses new anonymous callers once the shared limit is spent, never a signed-in user', async () => {
    const browser = browserFor(server)
    await signInInBrowser(server, browser)
    // A fresh minute, all of it for the flood.
    server.clock.advance(60_000)
    const client = await registerTestClient(server)
    const flood: number[] = []
    for (let caller = 1; caller <= 5; caller++) {
      for (let page = 0; page < 60; page++) {
        flood.push(await consentPageFrom(client, `198.51.100.${caller}`))
      }
    }
    expect(flood.every((status) => status === 200)).toBe(true)
    expect(await consentPageFrom(client, '198.51.100.6')).toBe(429)

    // Another client, so no remembered consent: the signed-in user is shown its consent page.
    const another = await registerTestClient(server, { client_name: 'Another client' })
    const page = await browser.open(
      authorizeUrl(another, newPkce()),
      another.redirect_uris[0] ?? ''
    )
    expect(page.response.status).toBe(200)
    expect(page.url.startsWith(TEST_ISSUER)).toBe(true)
    expect(page.body).toContain('Approve')
  })
})
