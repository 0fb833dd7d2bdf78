import { describe, expect, it } from 'vitest'
import type { TestAuthServer } from '../../../tests/support/auth-app.ts'
import type { FakeGitHub } from '../../../tests/support/fake-github.ts'
import {
  ALICE,
  authorizeUrl,
  browserFor,
  newPkce,
  obtainCode,
  registerTestClient,
  useFlowServer,
} from '../../../tests/support/oauth-flow.ts'
import { runCommand } from '../cli/run-command.ts'
import { keys } from '../store/keys.ts'

/**
 * A remembered consent lets `/authorize` answer without a page, after re-checking the user at
 * GitHub. Withdrawn while that re-check is in flight, it must not come back with a code.
 */
describe('a consent withdrawn while an authorization on it is in flight', () => {
  let github: FakeGitHub
  let server: TestAuthServer
  useFlowServer({ ALLOWED_GITHUB_USERS: 'alice' }, (fixture) => {
    ;({ github, server } = fixture)
  })

  it('hands out no code, and the consent stays withdrawn', async () => {
    const client = await registerTestClient(server)
    const redirectUri = client.redirect_uris[0] ?? ''
    const browser = browserFor(server)
    await obtainCode(server, client, newPkce(), browser)
    github.clearRequests()
    github.setLatency(600)
    try {
      const authorizing = browser.open(authorizeUrl(client, newPkce()), redirectUri)
      // The request has read the consent and waits on GitHub's answer about the user.
      await expect
        .poll(() => github.requests.filter((r) => r.path === '/user').length, { interval: 10 })
        .toBeGreaterThan(0)
      const withdrawn = await runCommand(
        {
          config: server.config,
          store: server.store,
          clock: server.clock,
          audit: server.audit,
        },
        ['consents', 'revoke', String(ALICE.id), client.client_id]
      )
      expect(withdrawn.exitCode).toBeUndefined()
      const answer = new URL((await authorizing).url)
      expect(answer.origin + answer.pathname).toBe(redirectUri)
      expect(answer.searchParams.get('error')).toBe('access_denied')
      expect(answer.searchParams.get('code')).toBeNull()
      expect(await server.store.get(keys.consent(String(ALICE.id), client.client_id))).toBeNull()
    } finally {
      github.setLatency(0)
    }
  })

  it('used again, a remembered consent is renewed as approved: not narrowed, not re-dated', async () => {
    const client = await registerTestClient(server)
    const redirectUri = client.redirect_uris[0] ?? ''
    const browser = browserFor(server)
    await obtainCode(server, client, newPkce(), browser, { scope: 'mcp offline_access' })
    const key = keys.consent(String(ALICE.id), client.client_id)
    const approved = await server.store.get(key)
    await server.store.expire(key, 100)
    server.clock.advance(60_000)

    const again = new URL(
      (await browser.open(authorizeUrl(client, newPkce(), { scope: 'mcp' }), redirectUri)).url
    )
    expect(again.searchParams.get('code')).not.toBeNull()
    expect(await server.store.get(key)).toBe(approved)
    expect(await server.store.ttl(key)).toBeGreaterThan(100)
  })
})
