import { describe, expect, it } from 'vitest'
import { loadConfig } from './config.ts'

describe('ALLOWED_GITHUB_TEAMS', () => {
  it('reads org/team-slug entries, lower-cased', () => {
    expect(
      loadConfig({ ALLOWED_GITHUB_TEAMS: 'Acme/Core, acme/platform-team' }).allowedTeams
    ).toEqual(['acme/core', 'acme/platform-team'])
    expect(loadConfig({}).allowedTeams).toEqual([])
  })

  it.each(['acme', 'acme/', '/core', 'acme/core/x', 'ac me/core'])('refuses %s', (entry) => {
    expect(() => loadConfig({ ALLOWED_GITHUB_TEAMS: entry })).toThrow(/^ALLOWED_GITHUB_TEAMS: /)
  })
})

describe('GITHUB_BASE_URL and GITHUB_API_URL', () => {
  it('are http or https URLs', () => {
    for (const name of ['GITHUB_BASE_URL', 'GITHUB_API_URL']) {
      expect(() => loadConfig({ [name]: 'ftp://github.example' })).toThrow(new RegExp(`^${name}: `))
      expect(() => loadConfig({ [name]: 'http://127.0.0.1:9999' })).not.toThrow()
    }
  })

  it('names the one that is not https in production', () => {
    const production = {
      NODE_ENV: 'production',
      REDIS_URL: 'redis://127.0.0.1:6379',
      AUTH_ISSUER: 'https://auth.example.com',
      GITHUB_CLIENT_ID: 'id',
      GITHUB_CLIENT_SECRET: 'secret',
    }
    for (const name of ['GITHUB_BASE_URL', 'GITHUB_API_URL']) {
      expect(() => loadConfig({ ...production, [name]: 'http://github.example' })).toThrow(
        new RegExp(`^${name}: GitHub must be reached over https`)
      )
      // A scheme is case-insensitive: an upper-case https is https.
      expect(() =>
        loadConfig({ ...production, [name]: 'HTTPS://ghe.example/api/v3' })
      ).not.toThrow()
    }
  })
})

describe('ALLOWED_GITHUB_ORGS and MCP_<NAME>_ALLOWED_ORGS', () => {
  it('reads organisation logins', () => {
    expect(loadConfig({ ALLOWED_GITHUB_ORGS: 'acme, Big-Co' }).allowedOrgs).toEqual([
      'acme',
      'Big-Co',
    ])
  })

  it.each(['bad org!', 'acme/core', '-acme', 'ac--me', 'a'.repeat(40)])('refuses %s', (entry) => {
    expect(() => loadConfig({ ALLOWED_GITHUB_ORGS: entry })).toThrow(/^ALLOWED_GITHUB_ORGS: /)
    expect(() => loadConfig({ MCP_ECHO_ALLOWED_ORGS: entry })).toThrow(/^MCP_ECHO_ALLOWED_ORGS: /)
  })
})

describe('GITHUB_EXTRA_SCOPES', () => {
  it('adds GitHub scopes to ask at sign-in, none by default; a malformed one stops start-up', () => {
    expect(loadConfig({}).github.extraScopes).toEqual([])
    expect(
      loadConfig({ GITHUB_EXTRA_SCOPES: 'public_repo, read:project,public_repo' }).github
        .extraScopes
    ).toEqual(['public_repo', 'read:project'])
    expect(() => loadConfig({ GITHUB_EXTRA_SCOPES: 'repo admin' })).toThrow(
      /^GITHUB_EXTRA_SCOPES: "repo admin" is not a GitHub scope name/
    )
  })
})
