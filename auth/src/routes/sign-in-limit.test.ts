import { decodeJwt } from 'jose'
import { describe, expect, it } from 'vitest'
import { auditLines, type TestAuthServer } from '../../../tests/support/auth-app.ts'
import {
  authorizeUrl,
  browserFor,
  exchangeCode,
  newPkce,
  obtainCode,
  registerTestClient,
  useFlowServer,
} from '../../../tests/support/oauth-flow.ts'
import { SIGN_INS_PER_CLIENT } from '../authorization/sign-in-limit.ts'
import { keys } from '../store/keys.ts'

describe('what a client approved once can make the gateway keep', () => {
  let server: TestAuthServer
  useFlowServer({ ALLOWED_GITHUB_USERS: 'alice' }, (fixture) => {
    ;({ server } = fixture)
  })
  /** Limits count in fixed windows: a test's own starts a second into the next hour. */
  const startOfNextHour = () => {
    const hour = 3_600_000
    server.clock.advance(hour - (server.clock.now() % hour) + 1000)
  }

  it(`keeps at most ${SIGN_INS_PER_CLIENT} sign-ins of a user with one client, ending the oldest`, async () => {
    const client = await registerTestClient(server)
    const other = await registerTestClient(server)
    const browser = browserFor(server)
    const signIn = async (of = client) => {
      const { code, pkce } = await obtainCode(server, of, newPkce(), browser)
      const tokens = (await (await exchangeCode(server, of, code, pkce)).json()) as {
        access_token: string
      }
      return decodeJwt(tokens.access_token).fam as string
    }
    const otherFamily = await signIn(other)
    const families: string[] = []
    for (let i = 0; i < SIGN_INS_PER_CLIENT + 2; i += 1) {
      families.push(await signIn())
      server.clock.advance(1000)
    }
    const live = async (familyId: string) =>
      (await server.store.get(keys.refreshFamily(familyId))) !== null
    expect(await live(families[0] ?? '')).toBe(false)
    expect(await live(families[1] ?? '')).toBe(false)
    for (const familyId of families.slice(2)) expect(await live(familyId)).toBe(true)
    // Another client's sign-ins are not this one's to end.
    expect(await live(otherFamily)).toBe(true)
    expect(await server.store.get(keys.revokedFamily(families[0] ?? ''))).toBe('1')
    expect(
      auditLines(server).filter(
        (line) => line.event === 'token.revoked' && line.reason === 'sign_in_limit'
      )
    ).toEqual([
      expect.objectContaining({ by: 'gateway', family_id: families[0] }),
      expect.objectContaining({ by: 'gateway', family_id: families[1] }),
    ])
  })

  it('counts codes of a remembered consent as the consent pages they skip: 60 a minute', async () => {
    const client = await registerTestClient(server)
    const browser = browserFor(server)
    const stop = client.redirect_uris[0] ?? ''
    // An hour of its own: the sign-ins above were counted too.
    startOfNextHour()
    await obtainCode(server, client, newPkce(), browser)
    let answered = 1
    for (; answered < 70; answered += 1) {
      const page = await browser.open(authorizeUrl(client, newPkce()), stop)
      if (!page.url.startsWith(stop)) {
        expect(page.response.status).toBe(429)
        break
      }
    }
    // The first page came before sign-in, counted for its caller; then 60 codes for the user.
    expect(answered).toBe(61)
  })

  it('lets a remembered consent answer with a code at most 60 times an hour, then asks again', async () => {
    startOfNextHour()
    const client = await registerTestClient(server)
    const browser = browserFor(server)
    const stop = client.redirect_uris[0] ?? ''
    await obtainCode(server, client, newPkce(), browser)
    const silently = async () => (await browser.open(authorizeUrl(client, newPkce()), stop)).url
    for (let minute = 0; minute < 3; minute += 1) {
      for (let i = 0; i < 20; i += 1) expect(await silently()).toMatch(stop)
      server.clock.advance(61_000)
    }
    // Any site can send the user's browser here: past the bound they are asked, not locked out,
    // for this client and every other they approved.
    const other = await registerTestClient(server)
    await obtainCode(server, other, newPkce(), browser)
    for (const each of [client, other]) {
      const asked = await browser.open(authorizeUrl(each, newPkce()), each.redirect_uris[0] ?? '')
      expect(asked.response.status).toBe(200)
      expect(asked.body).toContain('name="consent_request"')
    }
    expect(server.logs.filter((line) => line.event === 'remembered_consent_bound')).toEqual([
      expect.objectContaining({ user: expect.any(String), client_id: client.client_id }),
      expect.objectContaining({ client_id: other.client_id }),
    ])
    // And the page, approved, still gives a code.
    const { code, pkce } = await obtainCode(server, client, newPkce(), browser)
    expect((await exchangeCode(server, client, code, pkce)).status).toBe(200)
  })
})
