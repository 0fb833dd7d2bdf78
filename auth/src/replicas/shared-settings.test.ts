import { describe, expect, it } from 'vitest'
import { loadConfig } from '../config.ts'
import { disagreements, sharedSettings } from './shared-settings.ts'

const settingsOf = (env: Record<string, string>) =>
  sharedSettings(loadConfig({ AUTH_ISSUER: 'http://localhost:8080', ...env }))

describe('sharedSettings', () => {
  it('is the same for the same settings, whatever their order in a list', () => {
    expect(settingsOf({ ALLOWED_GITHUB_USERS: 'alice,id:42,bob' })).toEqual(
      settingsOf({ ALLOWED_GITHUB_USERS: 'bob,alice,id:42' })
    )
  })

  it('tells which setting differs, and holds no value', () => {
    const secret = 'a-github-client-secret-0123456789abcdef'
    const github = { GITHUB_CLIENT_ID: 'Iv1.0123456789abcdef', GITHUB_CLIENT_SECRET: secret }
    const own = settingsOf({ ALLOWED_GITHUB_USERS: 'alice', ...github })
    const other = settingsOf({ ALLOWED_GITHUB_USERS: 'alice,bob', ...github })
    expect(disagreements(own, [{ id: 'b', settings: other }])).toEqual([
      { setting: 'ALLOWED_GITHUB_USERS', replicas: ['b'] },
    ])
    expect(JSON.stringify(own)).not.toContain(secret)
    expect(JSON.stringify(own)).not.toContain('alice')
  })

  it('gives settings of equal value different fingerprints', () => {
    const own = settingsOf({})
    expect(new Set(Object.values(own)).size).toBe(Object.keys(own).length)
  })

  it('does not count a setting the other replica does not know (another version)', () => {
    const own = settingsOf({})
    const { ALLOWED_GITHUB_TEAMS: _, ...older } = settingsOf({ ALLOWED_GITHUB_TEAMS: 'acme/ops' })
    expect(disagreements(own, [{ id: 'old', settings: older }])).toEqual([])
  })

  it('sees the services with their policy, and the issuer they are under', () => {
    const own = settingsOf({})
    const narrower = settingsOf({ MCP_ECHO_ALLOWED_USERS: 'alice' })
    const moved = settingsOf({ AUTH_ISSUER: 'http://localhost:8081' })
    const found = disagreements(own, [
      { id: 'narrower', settings: narrower },
      { id: 'moved', settings: moved },
    ])
    expect(found).toEqual([
      { setting: 'AUTH_ISSUER', replicas: ['moved'] },
      { setting: 'MCP_SERVICES', replicas: ['narrower', 'moved'] },
    ])
  })
})
