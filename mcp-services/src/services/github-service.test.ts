import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FakeGitHub, startFakeGitHub } from '../../../tests/support/fake-github.ts'
import { findService, type ServiceDefinition } from '../catalog.ts'
import { connectClient, startTestBridge, type TestBridge } from '../testing/harness.ts'
import { postModern } from '../testing/modern-client.ts'
import type { DirectoryUser, GitHubToken, UserDirectory } from '../user-directory.ts'

/** The user directory as the auth server answers it: the token it keeps now, per user id. */
class KeptTokens implements UserDirectory {
  readonly kept = new Map<string, string>()
  readonly asked: string[] = []
  async user(): Promise<DirectoryUser | undefined> {
    return undefined
  }
  async githubToken(userId: string): Promise<GitHubToken | undefined> {
    this.asked.push(userId)
    const token = this.kept.get(userId)
    return token ? { access_token: token, token_type: 'bearer' } : undefined
  }
}

function github(): ServiceDefinition {
  const found = findService('github')
  if (!found) throw new Error('no github service in the catalog')
  return found
}

/** The `github` service through the bridge, both eras, with the fake GitHub. */
describe('the github service through the bridge', () => {
  let fake: FakeGitHub
  let bridge: TestBridge
  const directory = new KeptTokens()
  beforeAll(async () => {
    fake = await startFakeGitHub({
      users: [
        { id: 21, login: 'carol' },
        { id: 22, login: 'dave' },
      ],
    })
    bridge = await startTestBridge(
      github(),
      { githubApiUrl: fake.apiUrl },
      { userDirectory: directory }
    )
  })
  afterAll(async () => {
    await bridge?.close()
    await fake?.close()
  })

  /** `whoami` in the stateless era (2026-07-28), served by the user's pooled child. */
  const callWhoami = (userId: string) =>
    postModern(
      bridge.url,
      userId,
      { method: 'tools/call', params: { name: 'whoami', arguments: {} } },
      { 'Mcp-Name': 'whoami' }
    )

  const authorizations = () =>
    fake.requests.filter((r) => r.path === '/user').map((r) => r.headers.authorization)

  it('gives each session-era user’s child that user’s own token', async () => {
    directory.kept.set('21', fake.issueToken('carol').token)
    directory.kept.set('22', fake.issueToken('dave').token)
    fake.clearRequests()
    for (const [userId, login] of [
      ['21', 'carol'],
      ['22', 'dave'],
    ] as const) {
      const { client, transport } = await connectClient(bridge.url, userId)
      const whoami = await client.callTool({ name: 'whoami', arguments: {} })
      expect(whoami.structuredContent).toMatchObject({ login })
      await transport.terminateSession()
    }
    expect(authorizations()).toEqual([
      `Bearer ${directory.kept.get('21')}`,
      `Bearer ${directory.kept.get('22')}`,
    ])
  })

  it('starts the next stateless child with the current token once GitHub rejected the old one', async () => {
    const whoami = () => callWhoami('21')
    directory.kept.set('21', fake.issueToken('carol').token)
    expect((await whoami()).json.result?.structuredContent).toMatchObject({ login: 'carol' })
    const pid = bridge.bridge.pool.pids()[0]

    // The user revokes the app, then signs in again: the gateway now keeps a new token.
    fake.revokeTokensOf('carol')
    const renewed = fake.issueToken('carol').token
    directory.kept.set('21', renewed)
    const refused = await whoami()
    expect(refused.json.result?.isError).toBe(true)
    expect(JSON.stringify(refused.json.result)).toMatch(/no longer accepts the token/)
    await expect
      .poll(() => bridge.bridge.pool.pids().includes(pid ?? -1), { timeout: 10_000 })
      .toBe(false)

    fake.clearRequests()
    expect((await whoami()).json.result?.structuredContent).toMatchObject({ login: 'carol' })
    expect(authorizations()).toEqual([`Bearer ${renewed}`])
  })

  it('starts a child without a token for a user the gateway keeps none for, and it says so', async () => {
    const answer = await callWhoami('99')
    expect(answer.json.result?.isError).toBe(true)
    expect(JSON.stringify(answer.json.result)).toMatch(/holds no GitHub token for you/)
    expect(directory.asked).toContain('99')
  })
})
