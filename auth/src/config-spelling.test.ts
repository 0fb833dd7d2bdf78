import { describe, expect, it } from 'vitest'
import { environmentSchema as bridgeSettings } from '../../mcp-services/src/config-environment.ts'
import { misspeltSettings } from '../../mcp-services/src/config-spelling.ts'
import { environmentSchema } from './config.ts'

const KNOWN = new Set([
  ...Object.keys(environmentSchema.shape),
  ...Object.keys(bridgeSettings.shape),
])

describe('misspelt settings', () => {
  it('names the setting a typo was meant for', () => {
    expect(
      misspeltSettings(
        {
          ACESS_TOKEN_TTL: '100',
          REFRESH_TOKEN_TLL: '100',
          ALLOWED_GITHUB_USER: 'alice',
          MAX_SESION_PER_USER: '3',
          MCP_POLICY_FIL: '/etc/policy.json',
          redis_url: 'redis://r',
          MCP_MEMORY_ENABLED: 'true',
        },
        KNOWN
      )
    ).toEqual([
      { name: 'ACESS_TOKEN_TTL', meant: 'ACCESS_TOKEN_TTL' },
      { name: 'REFRESH_TOKEN_TLL', meant: 'REFRESH_TOKEN_TTL' },
      { name: 'ALLOWED_GITHUB_USER', meant: 'ALLOWED_GITHUB_USERS' },
      { name: 'MAX_SESION_PER_USER', meant: 'MAX_SESSIONS_PER_USER' },
      { name: 'MCP_POLICY_FIL', meant: 'MCP_POLICY_FILE' },
      { name: 'redis_url', meant: 'REDIS_URL' },
    ])
  })

  it('leaves known settings and the environment of other software alone', () => {
    const environment = {
      ACCESS_TOKEN_TTL: '100',
      PATH: '/usr/bin',
      HOME: '/root',
      HOSTNAME: 'box',
      NODE_OPTIONS: '',
      LANG: 'C.UTF-8',
      npm_lifecycle_event: 'start',
      KUBERNETES_SERVICE_HOST: '10.0.0.1',
      DEBIAN_FRONTEND: 'noninteractive',
    }
    expect(misspeltSettings(environment, KNOWN)).toEqual([])
  })
})
