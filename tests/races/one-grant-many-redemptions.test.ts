import { decodeJwt } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TestAuthServer } from '../support/auth-app.ts'
import { type ListeningApp, listen } from '../support/listening-app.ts'
import {
  browserFor,
  clientRequest,
  obtainCode,
  type RegisteredClient,
  registerTestClient,
  tokenRequest,
  useFlowServer,
} from '../support/oauth-flow.ts'

/**
 * One grant redeemed by 1,000 callers at once over real HTTP on real Redis: the store's
 * single-use take (`GETDEL`) must hold under real concurrency, and the rules that follow a
 * redemption (replay revokes, a used device code is `invalid_grant`) must too.
 */
const REDEMPTIONS = 1_000
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code'
// About 17 s for a race on a loaded 2-core machine.
const RACE_TIMEOUT_MS = 120_000

interface Answer {
  readonly status: number
  readonly body: Record<string, string>
}

describe(`one grant, ${REDEMPTIONS} concurrent redemptions (real HTTP, Redis)`, () => {
  let server: TestAuthServer
  let http: ListeningApp
  // Every redemption comes from one caller (127.0.0.1): the per-caller /token limit must let
  // them all through, as a busy client's address behind NAT would need.
  useFlowServer(
    { ALLOWED_GITHUB_USERS: 'alice', TOKEN_RATE_LIMIT: String(REDEMPTIONS * 3) },
    (fixture) => {
      server = fixture.server
    }
  )
  beforeAll(async () => {
    http = await listen(server.app)
  })
  afterAll(async () => {
    await http.close()
  })

  /** The same form POSTed `REDEMPTIONS` times at once. */
  const race = async (form: Record<string, string>): Promise<Answer[]> => {
    const body = new URLSearchParams(form).toString()
    const answers = await Promise.all(
      Array.from({ length: REDEMPTIONS }, () =>
        http.request('/token', {
          method: 'POST',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
          body,
        })
      )
    )
    return Promise.all(
      answers.map(async (response) => ({
        status: response.status,
        body: (await response.json()) as Record<string, string>,
      }))
    )
  }
  const credentials = (client: RegisteredClient) => ({
    client_id: client.client_id,
    ...(client.client_secret ? { client_secret: client.client_secret } : {}),
  })
  const countEvents = (event: string, from: number) =>
    server.logs.slice(from).filter((line) => line.event === event).length

  it(
    'redeems an authorization code once; the replays revoke whatever it issued',
    async () => {
      const client = await registerTestClient(server)
      const { code, pkce } = await obtainCode(server, client, undefined, browserFor(server))
      const logsBefore = server.logs.length
      const answers = await race({
        ...credentials(client),
        grant_type: 'authorization_code',
        code,
        code_verifier: pkce.verifier,
        redirect_uri: client.redirect_uris[0] ?? '',
      })

      const won = answers.filter((answer) => answer.status === 200)
      const refused = answers.filter((answer) => answer.status === 400)
      expect(won.length + refused.length).toBe(REDEMPTIONS)
      for (const { body } of refused) expect(body.error).toBe('invalid_grant')
      // Exactly one request took the code from the store. It answers 200 unless a replay's
      // revocation landed before it finished (first-tokens.ts re-reads the family's marker after
      // storing it); then it hands out nothing either (STORAGE.md, `code-redeemed:`).
      const taken =
        countEvents('token.issued', logsBefore) +
        countEvents('grant_revoked_while_issued', logsBefore)
      expect(taken).toBe(1)
      expect(won.length).toBeLessThanOrEqual(1)
      const replays = refused.filter(
        ({ body }) => body.error_description === 'the authorization code was already used'
      )
      expect(replays.length).toBeGreaterThanOrEqual(REDEMPTIONS - 1)

      // A replay revokes the family the code started: the winner's tokens are dead.
      const grantFamily = server.logs
        .slice(logsBefore)
        .find((line) => line.event === 'authorization_code.reuse_detected')?.family_id
      expect(grantFamily).toBeTypeOf('string')
      expect(await server.store.get(`revoked:family:${grantFamily}`)).toBe('1')
      for (const { body } of won) {
        expect(decodeJwt(body.access_token ?? '').fam).toBe(grantFamily)
        for (const token of [body.access_token ?? '', body.refresh_token ?? '']) {
          const introspection = await clientRequest(server, client, '/introspect', { token })
          expect(await introspection.json()).toEqual({ active: false })
        }
        const refresh = await tokenRequest(server, client, {
          grant_type: 'refresh_token',
          refresh_token: body.refresh_token ?? '',
        })
        expect(refresh.status).toBe(400)
        expect(await refresh.json()).toMatchObject({ error: 'invalid_grant' })
      }
    },
    RACE_TIMEOUT_MS
  )

  it(
    'redeems an approved device code once; the other polls are told so and revoke nothing',
    async () => {
      const device = await registerTestClient(server, {
        client_name: 'race CLI',
        redirect_uris: [],
        grant_types: [DEVICE_GRANT, 'refresh_token'],
        token_endpoint_auth_method: 'none',
      })
      const started = (await (
        await clientRequest(server, device, '/device_authorization', {})
      ).json()) as { device_code: string; verification_uri_complete: string; user_code: string }
      const browser = browserFor(server)
      const codePage = await browser.open(started.verification_uri_complete, 'about:')
      const consent = await browser.submitForm(codePage, { user_code: started.user_code }, 'about:')
      const done = await browser.submitConsent(consent, 'approve', 'about:')
      expect(done.body).toContain('Device connected')

      const logsBefore = server.logs.length
      const answers = await race({
        ...credentials(device),
        grant_type: DEVICE_GRANT,
        device_code: started.device_code,
      })
      const won = answers.filter((answer) => answer.status === 200)
      expect(won).toHaveLength(1)
      expect(countEvents('token.issued', logsBefore)).toBe(1)
      const refused = answers.filter((answer) => answer.status !== 200)
      expect(refused).toHaveLength(REDEMPTIONS - 1)
      for (const { status, body } of refused) {
        expect(status).toBe(400)
        // RFC 8628 §3.5: the pacing lets one poll of the interval through, the rest are
        // `slow_down`; one that arrives once the winner has cleared the pacing (its redemption
        // does) finds the code used (`invalid_grant`).
        expect(['invalid_grant', 'slow_down']).toContain(body.error)
        expect(body.error_description).toBeTypeOf('string')
      }
      // Past any interval the race left, a poll is told the code was used, not that it expired.
      server.clock.advance(REDEMPTIONS * 5_000 + 10_000)
      const late = await http.request('/token', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          ...credentials(device),
          grant_type: DEVICE_GRANT,
          device_code: started.device_code,
        }).toString(),
      })
      expect(await late.json()).toMatchObject({ error: 'invalid_grant' })

      // A used device code is refused, not replayed: the device's tokens keep working.
      const tokens = won[0]?.body ?? {}
      const refreshed = await tokenRequest(server, device, {
        grant_type: 'refresh_token',
        refresh_token: tokens.refresh_token ?? '',
      })
      expect(refreshed.status).toBe(200)
    },
    RACE_TIMEOUT_MS
  )
})
