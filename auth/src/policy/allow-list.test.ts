import { describe, expect, it } from 'vitest'
import { isAllowed } from './allow-list.ts'

describe('isAllowed', () => {
  const alice = { id: '1', login: 'Alice', orgs: ['acme'] }
  it('fails closed on empty lists', () => {
    expect(isAllowed(alice, { users: [], orgs: [] })).toBe(false)
  })
  it('lets in listed logins regardless of case, everyone with *, and active org members', () => {
    expect(isAllowed(alice, { users: ['alice'], orgs: [] })).toBe(true)
    expect(isAllowed(alice, { users: '*', orgs: [] })).toBe(true)
    expect(isAllowed(alice, { users: ['bob'], orgs: ['ACME'] })).toBe(true)
    expect(isAllowed({ id: '2', login: 'bob' }, { users: ['alice'], orgs: ['acme'] })).toBe(false)
  })
})
