import { describe, expect, it } from 'vitest'
import { allowListRefusal, isAllowed, letsNobodyIn, parseUserEntry } from './allow-list.ts'

describe('isAllowed', () => {
  const alice = { id: '1', login: 'Alice', orgs: ['acme'] }
  it('fails closed and matches logins case-insensitively, ids exactly, orgs', () => {
    expect(isAllowed(alice, { users: [], orgs: [] })).toBe(false)
    expect(isAllowed(alice, { users: [{ login: 'alice' }], orgs: [] })).toBe(true)
    expect(isAllowed(alice, { users: [{ id: '1' }], orgs: [] })).toBe(true)
    expect(isAllowed(alice, { users: '*', orgs: [] })).toBe(true)
    expect(isAllowed(alice, { users: [{ login: 'bob' }], orgs: ['ACME'] })).toBe(true)
    expect(
      isAllowed({ id: '2', login: 'bob' }, { users: [{ login: 'alice' }], orgs: ['acme'] })
    ).toBe(false)
  })

  it('keeps out whoever took over a listed id’s old login, and follows a renamed id', () => {
    const list = { users: [{ id: '1' }], orgs: [] }
    expect(isAllowed({ id: '1', login: 'alice-renamed' }, list)).toBe(true)
    expect(isAllowed({ id: '99', login: 'alice' }, list)).toBe(false)
    // A development sign-in user (`dev-<name>`) never matches an id.
    expect(isAllowed({ id: 'dev-1', login: '1' }, list)).toBe(false)
  })
})

describe('parseUserEntry', () => {
  it('reads ids and logins', () => {
    expect(parseUserEntry('id:583231')).toEqual({ id: '583231' })
    expect(parseUserEntry('ID:007')).toEqual({ id: '7' })
    expect(parseUserEntry('login:Octocat')).toEqual({ login: 'octocat' })
    expect(parseUserEntry('Octocat')).toEqual({ login: 'octocat' })
    expect(parseUserEntry('login:1234')).toEqual({ login: '1234' })
    expect(parseUserEntry('old--style-')).toEqual({ login: 'old--style-' })
  })

  it.each([
    ['1234', /ambiguous: write id:1234 .* or login:1234/],
    ['id:octocat', /numeric user id/],
    ['id:', /numeric user id/],
    ['email:a@b.c', /write id:<number> or login:<name>/],
    ['login:', /not a GitHub login/],
    ['-bad', /not a GitHub login/],
    ['a'.repeat(40), /not a GitHub login/],
  ])('refuses %s', (entry, message) => {
    expect(() => parseUserEntry(entry)).toThrow(message)
  })
})

describe('teams and refusal reasons', () => {
  const bob = { id: '2', login: 'bob', orgs: ['acme'], teams: ['acme/core'] }
  const list = { users: [], orgs: [], teams: ['acme/core'] }

  it('lets a member of a listed team in, and nobody else by that list', () => {
    expect(isAllowed(bob, list)).toBe(true)
    expect(isAllowed({ ...bob, teams: ['acme/platform'] }, list)).toBe(false)
    expect(isAllowed({ id: '2', login: 'bob', orgs: ['acme'] }, list)).toBe(false)
  })

  it('says why the list refuses, naming the most specific kind of entry it has', () => {
    const carol = { id: '3', login: 'carol' }
    expect(allowListRefusal(bob, list)).toBeUndefined()
    expect(
      allowListRefusal(carol, { users: [{ login: 'x' }], orgs: ['acme'], teams: ['a/b'] })
    ).toBe('not_in_allowed_team')
    expect(allowListRefusal(carol, { users: [{ login: 'x' }], orgs: ['acme'] })).toBe(
      'not_in_allowed_org'
    )
    expect(allowListRefusal(carol, { users: [{ id: '9' }], orgs: [], teams: [] })).toBe(
      'not_an_allowed_user'
    )
    expect(allowListRefusal(carol, { users: [], orgs: [] })).toBe('allow_list_empty')
  })

  it('lets nobody in only when no user, organisation or team is listed', () => {
    expect(letsNobodyIn({ users: [], orgs: [], teams: [] })).toBe(true)
    expect(letsNobodyIn({ users: [], orgs: [] })).toBe(true)
    expect(letsNobodyIn({ users: '*', orgs: [] })).toBe(false)
    expect(letsNobodyIn({ users: [{ id: '1' }], orgs: [] })).toBe(false)
    expect(letsNobodyIn({ users: [], orgs: ['acme'] })).toBe(false)
    expect(letsNobodyIn({ users: [], orgs: [], teams: ['acme/ops'] })).toBe(false)
  })
})
