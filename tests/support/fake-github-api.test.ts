import { describe, expect, it } from 'vitest'
import { type FakeGitHub, startFakeGitHub } from './fake-github.ts'
import { useFakeGitHub } from './fake-github-fixture.ts'

let gh: FakeGitHub
const { api } = useFakeGitHub((fixture) => {
  ;({ gh } = fixture)
})

describe('fake GitHub: REST API', () => {
  it('needs a User-Agent and a valid token', async () => {
    const token = gh.issueToken('alice').token
    const noAgent = await api('/user', token, { 'user-agent': '' })
    expect(noAgent.status).toBe(403)
    expect(await noAgent.text()).toMatch(/^Request forbidden by administrative rules/)
    const bad = await api('/user', 'gho_wrong')
    expect(bad.status).toBe(401)
    expect(await bad.json()).toEqual({
      message: 'Bad credentials',
      documentation_url: 'https://docs.github.com/rest',
      status: '401',
    })
    expect(bad.headers.get('x-ratelimit-limit')).toBe('60')
    const old = await fetch(`${gh.apiUrl}/user`, { headers: { authorization: `token ${token}` } })
    expect(old.status).toBe(200)
    expect(Number(old.headers.get('x-ratelimit-remaining'))).toBeLessThan(5000)
    expect(old.headers.get('x-ratelimit-reset')).toMatch(/^\d+$/)
  })

  it('answers org membership by state and hides e-mails without the scope', async () => {
    const token = gh.issueToken('alice', ['read:user', 'read:org']).token
    const acme = await api('/user/memberships/orgs/ACME', token)
    expect(await acme.json()).toMatchObject({
      state: 'active',
      role: 'member',
      organization: { login: 'acme' },
      user: { login: 'alice' },
    })
    const beta = await api('/user/memberships/orgs/beta', token)
    expect(await beta.json()).toMatchObject({ state: 'pending' })
    const none = await api('/user/memberships/orgs/other', token)
    expect(none.status).toBe(404)
    expect(await none.json()).toMatchObject({ message: 'Not Found' })
    const orgs = (await (await api('/user/orgs', token)).json()) as { login: string }[]
    expect(orgs.map((o) => o.login)).toEqual(['acme'])
    expect((await api('/user/emails', token)).status).toBe(404)

    const narrow = gh.issueToken('alice', ['read:user']).token
    expect((await api('/user/memberships/orgs/acme', narrow)).status).toBe(403)
    expect((await api('/user/orgs', narrow)).status).toBe(403)
    gh.setOrgMembership('alice', 'acme', null)
    expect((await api('/user/memberships/orgs/acme', token)).status).toBe(404)
    gh.setOrgMembership('alice', 'acme', 'active')
  })

  it('lists active team memberships, pages long lists and answers a team membership', async () => {
    const token = gh.issueToken('alice', ['read:user', 'read:org']).token
    gh.setTeamMembership('alice', 'acme/core', 'active')
    gh.setTeamMembership('alice', 'acme/infra', 'pending')
    const teams = (await (await api('/user/teams', token)).json()) as {
      id: number
      slug: string
      organization: { id: number; login: string }
    }[]
    expect(teams).toEqual([
      expect.objectContaining({
        id: expect.any(Number),
        slug: 'core',
        organization: expect.objectContaining({ login: 'acme', id: expect.any(Number) }),
      }),
    ])
    const member = await api('/orgs/acme/teams/core/memberships/alice', token)
    expect(await member.json()).toMatchObject({ state: 'active', role: 'member' })
    const pending = await api('/orgs/acme/teams/infra/memberships/alice', token)
    expect(await pending.json()).toMatchObject({ state: 'pending' })
    expect((await api('/orgs/acme/teams/other/memberships/alice', token)).status).toBe(404)
    const narrow = gh.issueToken('alice', ['read:user']).token
    expect((await api('/user/teams', narrow)).status).toBe(403)

    for (let i = 0; i < 3; i++) gh.setTeamMembership('alice', `acme/team-${i}`, 'active')
    const first = await api('/user/teams?per_page=2', token)
    expect(await first.json()).toHaveLength(2)
    const next = /<([^>]+)>; rel="next"/.exec(first.headers.get('link') ?? '')?.[1] ?? ''
    expect(next).toContain('page=2')
    const second = await fetch(next, {
      headers: { authorization: `Bearer ${token}`, 'user-agent': 'test' },
    })
    expect(await second.json()).toHaveLength(2)

    // Leaving the organisation leaves its teams, as on GitHub.
    gh.setOrgMembership('alice', 'acme', null)
    expect(await (await api('/user/teams', token)).json()).toEqual([])
    gh.setOrgMembership('alice', 'acme', 'active')
  })

  it('rate-limit mode answers 403 (or 429) with no requests remaining', async () => {
    const token = gh.issueToken('alice').token
    gh.setRateLimited(true)
    const limited = await api('/user', token)
    expect(limited.status).toBe(403)
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0')
    expect(await limited.json()).toMatchObject({ message: expect.stringMatching(/rate limit/) })
    gh.setRateLimited(true, 429)
    expect((await api('/user', token)).status).toBe(429)
    gh.setRateLimited(false)
    expect((await api('/user', token)).status).toBe(200)
  })
})

describe('fake GitHub: repositories and issues', () => {
  const post = (path: string, token: string, body: unknown) =>
    fetch(`${gh.apiUrl}${path}`, {
      method: 'POST',
      headers: {
        'user-agent': 'gateway-test',
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify(body),
    })

  it('shows private repositories and opens issues only with the scopes GitHub asks for', async () => {
    gh.addRepository({ owner: 'bob', name: 'site' })
    gh.addRepository({ owner: 'bob', name: 'secrets', private: true, collaborators: ['alice'] })
    const names = async (token: string) =>
      ((await (await api('/user/repos', token)).json()) as { full_name: string }[]).map(
        (repo) => repo.full_name
      )
    expect(await names(gh.issueToken('bob', ['read:user']).token)).toEqual(['bob/site'])
    expect(await names(gh.issueToken('bob', ['repo']).token)).toEqual(['bob/site', 'bob/secrets'])
    expect(await names(gh.issueToken('alice', ['repo']).token)).toEqual(['bob/secrets'])

    const reader = gh.issueToken('alice', ['read:user']).token
    expect((await post('/repos/bob/site/issues', reader, { title: 'x' })).status).toBe(404)
    expect((await api('/repos/bob/secrets/issues/1', reader)).status).toBe(404)

    const writer = gh.issueToken('alice', ['public_repo']).token
    const missingTitle = await post('/repos/bob/site/issues', writer, { body: 'no title' })
    expect(missingTitle.status).toBe(422)
    const opened = await post('/repos/bob/site/issues', writer, { title: 'Hi', body: 'there' })
    expect(opened.status).toBe(201)
    expect(await opened.json()).toMatchObject({ number: 1, title: 'Hi', user: { login: 'alice' } })
    const read = await api('/repos/BOB/Site/issues/1', writer)
    expect(await read.json()).toMatchObject({ number: 1, body: 'there', state: 'open' })
    expect((await api('/repos/bob/site/issues/2', writer)).status).toBe(404)
  })
})

describe('fake GitHub: Enterprise Server layout', () => {
  it('serves OAuth and REST on one host, REST under /api/v3', async () => {
    const ghes = await startFakeGitHub({ enterprise: true, users: [{ id: 5, login: 'dora' }] })
    expect(ghes.apiUrl).toBe(`${ghes.baseUrl}/api/v3`)
    const token = ghes.issueToken('dora').token
    const headers = { 'user-agent': 'gateway-test', authorization: `Bearer ${token}` }
    const user = await fetch(`${ghes.apiUrl}/user`, { headers })
    expect(await user.json()).toMatchObject({ login: 'dora' })
    expect((await fetch(`${ghes.baseUrl}/user`, { headers })).status).toBe(404)
    expect(ghes.requests.map((r) => r.server)).toEqual(['api', 'web'])
    await ghes.close()
  })
})
