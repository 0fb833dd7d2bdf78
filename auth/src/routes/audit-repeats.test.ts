import { beforeEach, describe, expect, it } from 'vitest'
import { ECHO_FORWARDED_HEADERS, type TestAuthServer } from '../../../tests/support/auth-app.ts'
import {
  browserFor,
  clientRequest,
  exchangeCode,
  newPkce,
  obtainCode,
  passReuseGrace,
  type RegisteredClient,
  registerTestClient,
  tokenRequest,
  useFlowServer,
} from '../../../tests/support/oauth-flow.ts'
import type { AuditEvent } from '../audit/audit-trail.ts'
import { runCommand } from '../cli/run-command.ts'

/**
 * The audit trail (and the counters made from it) records what changed. A revocation repeated, or
 * sent five times at once, and a leaked credential replayed again and again, change nothing after
 * the first: one event each, so nobody holding one token can flood the trail or move the counters.
 */
describe('repeated revocations and replays are recorded once', () => {
  let server: TestAuthServer
  useFlowServer({ ALLOWED_GITHUB_USERS: 'alice' }, (fixture) => {
    server = fixture.server
  })
  beforeEach(() => {
    server.logs.length = 0
    adminEvents.length = 0
  })
  /** What the admin CLI records, as it hands it to its audit trail. */
  const adminEvents: AuditEvent[] = []
  const events = (name: string) =>
    [...server.logs, ...adminEvents].filter((line) => line.event === name)
  const admin = (args: string[]) =>
    runCommand(
      {
        config: server.config,
        store: server.store,
        clock: server.clock,
        audit: { record: async (event) => void adminEvents.push(event) },
      },
      args
    )

  const signIn = async (client: RegisteredClient) => {
    const { code, pkce } = await obtainCode(server, client)
    const response = await exchangeCode(server, client, code, pkce)
    expect(response.status).toBe(200)
    return {
      code,
      pkce,
      tokens: (await response.json()) as { access_token: string; refresh_token: string },
    }
  }
  const revoke = (client: RegisteredClient, token: string) =>
    clientRequest(server, client, '/revoke', { token })
  const fiveAtOnce = (send: () => Promise<Response>) => Promise.all(Array.from({ length: 5 }, send))

  it('/revoke: an access token three times in a row, a refresh token five times at once', async () => {
    const client = await registerTestClient(server)
    const { tokens } = await signIn(client)
    for (let i = 0; i < 3; i++) expect((await revoke(client, tokens.access_token)).status).toBe(200)
    const answers = await fiveAtOnce(() => revoke(client, tokens.refresh_token))
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200, 200])

    expect(events('token.revoked')).toEqual([
      expect.objectContaining({ token_type: 'access_token', user_id: '1001', login: 'alice' }),
      expect.objectContaining({ token_type: 'refresh_token', user_id: '1001', login: 'alice' }),
    ])
  })

  it('a rotated refresh token replayed five times at once, then again: one reuse detected', async () => {
    const client = await registerTestClient(server)
    const { tokens } = await signIn(client)
    const refresh = () =>
      tokenRequest(server, client, {
        grant_type: 'refresh_token',
        refresh_token: tokens.refresh_token,
      })
    expect((await refresh()).status).toBe(200)
    await passReuseGrace(server, tokens.refresh_token)

    const replays = await fiveAtOnce(refresh)
    expect(replays.map((replay) => replay.status)).toEqual([400, 400, 400, 400, 400])
    expect((await refresh()).status).toBe(400)

    expect(events('refresh_token.reuse_detected')).toEqual([
      expect.objectContaining({ user_id: '1001', login: 'alice', client_id: client.client_id }),
    ])
    expect(events('refresh_token.reuse_detected')[0]).not.toHaveProperty('presented_by_client_id')
  })

  it("a leaked credential replayed by another client: the trail names the family's client and the presenter", async () => {
    const client = await registerTestClient(server)
    const thief = await registerTestClient(server, { client_name: 'Other' })
    const { tokens } = await signIn(client)
    const refresh = (by: RegisteredClient, refreshToken: string) =>
      tokenRequest(server, by, { grant_type: 'refresh_token', refresh_token: refreshToken })
    expect((await refresh(client, tokens.refresh_token)).status).toBe(200)
    await passReuseGrace(server, tokens.refresh_token)

    expect((await refresh(thief, tokens.refresh_token)).status).toBe(400)
    expect(events('refresh_token.reuse_detected')).toEqual([
      expect.objectContaining({
        user_id: '1001',
        client_id: client.client_id,
        presented_by_client_id: thief.client_id,
      }),
    ])

    const second = await signIn(client)
    expect((await exchangeCode(server, thief, second.code, second.pkce)).status).toBe(400)
    expect(events('authorization_code.reuse_detected')).toEqual([
      expect.objectContaining({
        user_id: '1001',
        client_id: client.client_id,
        presented_by_client_id: thief.client_id,
      }),
    ])
  })

  it('a redeemed code replayed five times at once, then again: one reuse detected, with its user', async () => {
    const client = await registerTestClient(server)
    const { code, pkce, tokens } = await signIn(client)

    const replays = await fiveAtOnce(() => exchangeCode(server, client, code, pkce))
    expect(replays.map((replay) => replay.status)).toEqual([400, 400, 400, 400, 400])
    expect((await exchangeCode(server, client, code, pkce)).status).toBe(400)

    expect(events('authorization_code.reuse_detected')).toEqual([
      expect.objectContaining({ user_id: '1001', login: 'alice', client_id: client.client_id }),
    ])
    // The replay ended what the code issued.
    const verified = await server.request('/verify', {
      headers: { Authorization: `Bearer ${tokens.access_token}`, ...ECHO_FORWARDED_HEADERS },
    })
    expect(verified.status).toBe(401)
  })

  it('a code replayed after its family was revoked some other way: recorded once all the same', async () => {
    const client = await registerTestClient(server)
    const { code, pkce, tokens } = await signIn(client)
    expect((await revoke(client, tokens.refresh_token)).status).toBe(200)

    const replays = await fiveAtOnce(() => exchangeCode(server, client, code, pkce))
    expect(replays.map((replay) => replay.status)).toEqual([400, 400, 400, 400, 400])
    expect((await exchangeCode(server, client, code, pkce)).status).toBe(400)

    expect(events('authorization_code.reuse_detected')).toEqual([
      expect.objectContaining({ client_id: client.client_id }),
    ])
  })

  it('tokens revoke run twice: the second finds nothing, records nothing and exits 1', async () => {
    const client = await registerTestClient(server)
    await signIn(client)
    const pending = await obtainCode(server, client, newPkce(), browserFor(server))

    const first = await admin(['tokens', 'revoke', '--user', 'alice'])
    expect(first.exitCode).toBeUndefined()
    expect(first.data).toMatchObject({
      revoked: [expect.objectContaining({ user_login: 'alice' })],
      pending_grants: [expect.any(String)],
    })
    const second = await admin(['tokens', 'revoke', '--user', 'alice'])
    expect(second.exitCode).toBe(1)
    expect(second.data).toMatchObject({ revoked: [], pending_grants: [] })

    expect(events('admin.tokens_revoked')).toEqual([
      expect.objectContaining({ families: 1, pending_grants: 1 }),
    ])
    expect((await exchangeCode(server, client, pending.code, pending.pkce)).status).toBe(400)
  })

  it('consents revoke counts no pending grant for a code redeemed and revoked before', async () => {
    const client = await registerTestClient(server)
    const { tokens } = await signIn(client)
    expect((await revoke(client, tokens.refresh_token)).status).toBe(200)

    const withdrawn = await admin(['consents', 'revoke', '1001', client.client_id])
    expect(withdrawn.data).toMatchObject({ revoked_families: [], revoked_pending_grants: [] })
    expect(events('authorization.consent_revoked')).toEqual([
      expect.not.objectContaining({ pending_grants: expect.anything() }),
    ])
    expect(events('authorization.consent_revoked')).toEqual([
      expect.objectContaining({ families: 0 }),
    ])
  })
})
