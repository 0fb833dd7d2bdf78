import { describe, expect, it } from 'vitest'
import {
  decideToolCall,
  describeAudience,
  mayUseTool,
  type Subject,
  serviceRefusal,
} from './evaluate.ts'
import { parsePolicy, type ServicePolicy } from './policy-format.ts'

const policy = (document: unknown): ServicePolicy => {
  const parsed = parsePolicy({ services: { echo: document } })
  return parsed.services.echo as ServicePolicy
}

const alice: Subject = { userId: '1', organizations: [], teams: [] }
const bob: Subject = { userId: '2', organizations: ['500'], teams: ['77'] }
const carol: Subject = { userId: '3', organizations: ['500'], teams: [] }
const mallory: Subject = { userId: '9', organizations: ['999'], teams: ['999'] }

describe('service rules', () => {
  const rules = policy({ allow: { users: [1], organizations: ['500'] } })

  it('lets in listed users and members of listed organisations only', () => {
    expect(serviceRefusal(rules, alice)).toBeUndefined()
    expect(serviceRefusal(rules, carol)).toBeUndefined()
    expect(serviceRefusal(rules, mallory)).toBe(
      'this service is for the users its policy names or members of organisation 500'
    )
  })

  it('lets everyone in when the service names no audience', () => {
    expect(serviceRefusal(policy({}), mallory)).toBeUndefined()
  })

  it('lets nobody in through an empty audience', () => {
    expect(serviceRefusal(policy({ allow: {} }), alice)).toBe('this service is for nobody')
  })
})

describe('tool rules', () => {
  const rules = policy({
    tools: {
      whoami: { allow: { teams: [77] } },
      deploy: { allow: { users: ['1', '2'] }, scopes: ['deploy:write'] },
    },
  })

  it('refuses a tool to whoever is outside its audience, naming what is missing', () => {
    expect(decideToolCall(rules, 'whoami', bob, ['mcp'])).toEqual({ kind: 'allowed' })
    expect(decideToolCall(rules, 'whoami', carol, ['mcp'])).toEqual({
      kind: 'refused',
      tool: 'whoami',
      reason: 'the tool whoami is for members of team 77',
    })
  })

  it('asks for the missing scopes of an allowed tool, and refuses before asking', () => {
    expect(decideToolCall(rules, 'deploy', alice, ['mcp'])).toEqual({
      kind: 'step-up',
      tool: 'deploy',
      missingScopes: ['deploy:write'],
    })
    expect(decideToolCall(rules, 'deploy', alice, ['mcp', 'deploy:write'])).toEqual({
      kind: 'allowed',
    })
    expect(decideToolCall(rules, 'deploy', carol, []).kind).toBe('refused')
  })

  it('lists tools by audience only: a missing scope does not hide a tool', () => {
    expect(mayUseTool(rules, 'deploy', alice)).toBe(true)
    expect(mayUseTool(rules, 'deploy', carol)).toBe(false)
    expect(mayUseTool(rules, 'echo', mallory)).toBe(true)
  })

  it('offers unlisted tools to nobody when told so', () => {
    const strict = policy({ unlistedTools: 'deny', tools: { echo: {} } })
    expect(mayUseTool(strict, 'echo', mallory)).toBe(true)
    expect(decideToolCall(strict, 'whoami', alice, [])).toMatchObject({
      kind: 'refused',
      reason: 'the tool whoami is not offered here',
    })
    // Names of Object.prototype are not rules.
    expect(mayUseTool(strict, 'constructor', alice)).toBe(false)
  })

  it('keeps the service audience in front of every tool', () => {
    const both = policy({ allow: { users: [1] }, tools: { echo: { allow: { users: [2] } } } })
    expect(decideToolCall(both, 'echo', bob, []).kind).toBe('refused')
    expect(decideToolCall(both, 'echo', alice, []).kind).toBe('refused')
    expect(decideToolCall(both, 'whoami', alice, []).kind).toBe('allowed')
  })
})

describe('describeAudience', () => {
  it('names every kind of member, but not the users themselves', () => {
    expect(describeAudience({ users: ['1', '2'], organizations: ['3'], teams: ['4', '5'] })).toBe(
      'the users its policy names, members of organisation 3 or members of team 4, 5'
    )
  })
})
