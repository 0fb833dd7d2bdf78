import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FakeGitHub, startFakeGitHub } from '../../../tests/support/fake-github.ts'
import { systemClock } from '../clock.ts'
import { githubUpstream } from './github.ts'
import { UpstreamFailure } from './upstream.ts'

/** What the GitHub upstream reads of a user's organisations and teams, against the fake GitHub. */
describe('GitHub memberships', () => {
  let github: FakeGitHub
  beforeAll(async () => {
    github = await startFakeGitHub({
      users: [{ id: 1001, login: 'alice', orgs: { acme: 'active', beta: 'active' } }],
    })
    github.setTeamMembership('alice', 'acme/core', 'active')
  })
  afterAll(async () => {
    await github.close()
  })

  const upstream = () =>
    githubUpstream(
      {
        clientId: github.clientId,
        clientSecret: github.clientSecret,
        baseUrl: github.baseUrl,
        apiUrl: github.apiUrl,
        orgs: ['acme'],
        teams: ['acme/core', 'beta/ops'],
      },
      systemClock
    )

  it('reads every organisation and team with their ids, and the listed teams for the allow-list', async () => {
    const { subject, memberships } = await upstream().currentSubject({
      accessToken: github.issueToken('alice').token,
    })
    expect(subject).toMatchObject({ id: '1001', orgs: ['acme'], teams: ['acme/core'] })
    expect(memberships.organizations.map((org) => org.login).sort()).toEqual(['acme', 'beta'])
    expect(memberships.teams).toEqual([
      {
        id: expect.any(Number),
        slug: 'core',
        organization: { id: expect.any(Number), login: 'acme' },
      },
    ])
  })

  it('follows the pages of a long list', async () => {
    for (let i = 0; i < 150; i++) github.setTeamMembership('alice', `beta/team-${i}`, 'active')
    try {
      const { memberships } = await upstream().currentSubject({
        accessToken: github.issueToken('alice').token,
      })
      expect(memberships.teams).toHaveLength(151)
    } finally {
      for (let i = 0; i < 150; i++) github.setTeamMembership('alice', `beta/team-${i}`, null)
    }
  })

  it('sees no membership through a grant without read:org, without failing', async () => {
    const { subject, memberships } = await upstream().currentSubject({
      accessToken: github.issueToken('alice', ['read:user', 'user:email']).token,
    })
    expect(subject.teams).toBeUndefined()
    expect(memberships).toEqual({ organizations: [], teams: [] })
  })

  it('fails, never refuses, when GitHub rate-limits a membership call', async () => {
    const token = github.issueToken('alice').token
    try {
      for (const path of ['/user/teams', '/user/orgs', '/user/memberships/orgs/acme']) {
        github.setRateLimited(true, 403, path)
        await expect(upstream().currentSubject({ accessToken: token }), path).rejects.toThrow(
          UpstreamFailure
        )
      }
    } finally {
      github.setRateLimited(false)
    }
    expect((await upstream().currentSubject({ accessToken: token })).subject.teams).toEqual([
      'acme/core',
    ])
  })
})
