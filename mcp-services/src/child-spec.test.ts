import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { findService, type ServiceDefinition } from './catalog.ts'
import { childSpecFor, type GitHubAccess } from './child-spec.ts'
import type { Identity } from './identity.ts'

const launch = { command: process.execPath, script: '/srv/server.ts' }
const identity = (userId: string): Identity => ({
  userId,
  userName: `user ${userId}`,
  userEmail: '',
  clientId: 'c1',
  scopes: 'mcp',
})

function service(name: string): ServiceDefinition {
  const found = findService(name)
  if (!found) throw new Error(`no service ${name}`)
  return found
}

describe('the spec of a child acting as the user on GitHub', () => {
  const tokens: Record<string, string> = { '11': 'gho_alice', '12': 'gho_bob' }
  const asked: string[] = []
  const github: GitHubAccess = {
    apiUrl: 'https://ghe.example/api/v3',
    githubToken: async (userId) => {
      asked.push(userId)
      const token = tokens[userId]
      return token ? { access_token: token } : undefined
    },
  }

  it('carries that user’s own token in the environment, never in the arguments', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'child-spec-'))
    const alice = await childSpecFor(service('github'), launch, identity('11'), { dataDir }, github)
    const bob = await childSpecFor(service('github'), launch, identity('12'), { dataDir }, github)
    expect(alice.env).toEqual({
      GITHUB_API_URL: 'https://ghe.example/api/v3',
      MCP_GATEWAY_GITHUB_TOKEN: 'gho_alice',
    })
    expect(bob.env.MCP_GATEWAY_GITHUB_TOKEN).toBe('gho_bob')
    expect(alice.args.join(' ')).not.toContain('gho_')
    expect(asked).toEqual(['11', '12'])
  })

  it('starts without a token when the gateway keeps none for the user', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'child-spec-'))
    const spec = await childSpecFor(service('github'), launch, identity('99'), { dataDir }, github)
    expect(spec.env).toEqual({ GITHUB_API_URL: 'https://ghe.example/api/v3' })
  })

  it('starts the child without a token, and says why, when the directory cannot answer', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'child-spec-'))
    const unreachable: GitHubAccess = {
      apiUrl: 'https://api.github.com',
      githubToken: () => Promise.reject(new Error('the internal API could not be reached')),
    }
    const spec = await childSpecFor(
      service('github'),
      launch,
      identity('11'),
      { dataDir },
      unreachable
    )
    expect(spec.env).toEqual({
      GITHUB_API_URL: 'https://api.github.com',
      MCP_GATEWAY_GITHUB_TOKEN_UNAVAILABLE: 'true',
    })
  })

  it('never asks for a token for a service that does not act as the user', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'child-spec-'))
    asked.length = 0
    const spec = await childSpecFor(service('echo'), launch, identity('11'), { dataDir }, github)
    expect(asked).toEqual([])
    expect(spec.env.MCP_GATEWAY_GITHUB_TOKEN).toBeUndefined()
    expect(spec.env.MCP_GATEWAY_USER_ID).toBe('11')
  })
})
