import { afterEach, describe, expect, it } from 'vitest'
import { createTestAuthServer, type TestAuthServer } from '../../../tests/support/auth-app.ts'
import type { FakeGitHub } from '../../../tests/support/fake-github.ts'
import {
  exchangeCode,
  newPkce,
  obtainCode,
  registerTestClient,
  tokenRequest,
  useFlowServer,
} from '../../../tests/support/oauth-flow.ts'
import { keys } from '../store/keys.ts'

type Tokens = { access_token: string; refresh_token: string }

/**
 * Two replicas on one store, one with a narrower allow-list (a rollout half done): a refresh on
 * that one must not end for good what the other still lets the user do. Once no replica
 * disagrees, the narrower list is the gateway's word and the family goes.
 */
describe('a refresh on a replica whose allow-list another replica does not share', () => {
  let github: FakeGitHub
  let wider: TestAuthServer
  useFlowServer({ ALLOWED_GITHUB_USERS: 'alice,bob' }, (fixture) => {
    ;({ github, server: wider } = fixture)
  })
  afterEach(async () => {
    await wider.replicas.stop()
  })
  /** Alice signed in through the wider replica: her client, and its refresh by either replica. */
  const aliceSignedIn = async () => {
    const client = await registerTestClient(wider)
    const { code, pkce } = await obtainCode(wider, client, newPkce())
    const alice = {
      tokens: (await (await exchangeCode(wider, client, code, pkce)).json()) as Tokens,
      refresh: (server: TestAuthServer) =>
        tokenRequest(server, client, {
          grant_type: 'refresh_token',
          refresh_token: alice.tokens.refresh_token,
        }),
    }
    return alice
  }
  /** A replica on the same store that lets bob in, not alice. */
  const narrowerReplica = () =>
    createTestAuthServer({ ...github.env, ALLOWED_GITHUB_USERS: 'bob' }, { restartOf: wider })

  it('is answered 503 and keeps the family while they disagree, and refused once they agree', async () => {
    const alice = await aliceSignedIn()
    const narrower = await narrowerReplica()
    await wider.replicas.look()
    expect(await narrower.replicas.look()).toEqual([
      { setting: 'ALLOWED_GITHUB_USERS', replicas: [wider.replicas.replica.id] },
    ])

    const deferred = await alice.refresh(narrower)
    expect(deferred.status).toBe(503)
    expect(deferred.headers.get('retry-after')).toBe('5')
    expect(await deferred.json()).toMatchObject({ error: 'temporarily_unavailable' })
    expect(narrower.logs).toContainEqual(
      expect.objectContaining({ event: 'refresh_deferred', user_id: expect.any(String) })
    )
    // Nothing said refused, nor forgotten: the user is not refused yet.
    const refusals = ['token.refresh_refused', 'refresh_denied']
    expect(narrower.logs.filter((line) => refusals.includes(String(line.event)))).toEqual([])

    // The family is whole: the replica that still lets her in refreshes it.
    const refreshed = await alice.refresh(wider)
    expect(refreshed.status).toBe(200)
    alice.tokens = (await refreshed.json()) as Tokens

    // The wider replica stopped: perhaps to come back (a restart), so its word still counts...
    await wider.replicas.stop()
    expect((await alice.refresh(narrower)).status).toBe(503)
    // ...until the minute it is kept is over: the rollout is done, the narrower list is the word.
    await wider.store.delete(keys.replica(wider.replicas.replica.id))
    expect(await narrower.replicas.look()).toEqual([])
    const refused = await alice.refresh(narrower)
    expect(refused.status).toBe(400)
    expect(await refused.json()).toMatchObject({ error: 'invalid_grant' })
    expect(narrower.logs).toContainEqual(
      expect.objectContaining({ event: 'token.refresh_refused', audit: true })
    )
  })

  it("refuses at once when GitHub itself revoked the user's grant, whatever the settings", async () => {
    const alice = await aliceSignedIn()
    const narrower = await narrowerReplica()
    await wider.replicas.look()
    expect(await narrower.replicas.look()).toHaveLength(1)
    github.revokeTokensOf('alice')
    const refused = await alice.refresh(narrower)
    expect(refused.status).toBe(400)
    expect(await refused.json()).toMatchObject({ error: 'invalid_grant' })
    expect(narrower.logs).toContainEqual(
      expect.objectContaining({ event: 'token.refresh_refused', reason: 'upstream_grant_revoked' })
    )
  })

  it('is answered 503 too when the other replica started after its last look', async () => {
    const alice = await aliceSignedIn()
    const narrower = await narrowerReplica()
    // Alone at its look (its start); the wider replica comes afterwards, as in a rollout.
    await wider.store.delete(keys.replica(wider.replicas.replica.id))
    expect(await narrower.replicas.look()).toEqual([])
    await wider.replicas.look()

    const deferred = await alice.refresh(narrower)
    expect(deferred.status).toBe(503)
    expect(narrower.logs.some((line) => line.event === 'token.refresh_refused')).toBe(false)
    await narrower.replicas.stop()
  })
})
