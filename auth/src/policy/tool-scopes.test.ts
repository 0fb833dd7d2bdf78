import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../config.ts'
import { supportedScopes } from '../routes/authorization-server-metadata.ts'
import { protectedResourceMetadata } from '../routes/protected-resource-metadata.ts'

/**
 * The scopes tools need (the bridges' policy file, docs/policy.md) are scopes the authorization
 * server grants on request: listed in its metadata, not in the resource's (basic use needs less).
 */
describe('tool scopes from MCP_POLICY_FILE', () => {
  let dir: string
  const file = async (name: string, document: unknown) => {
    const path = join(dir, name)
    await writeFile(path, typeof document === 'string' ? document : JSON.stringify(document))
    return path
  }
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tool-scopes-'))
  })
  afterAll(() => rm(dir, { recursive: true, force: true }))

  it('makes every tool scope a supported scope, outside the resource metadata', async () => {
    const path = await file('policy.json', {
      services: { echo: { tools: { whoami: { scopes: ['echo:whoami'] }, echo: {} } } },
    })
    const config = loadConfig({ MCP_POLICY_FILE: path })
    const echo = config.protectedResources.find((r) => r.service.name === 'echo')
    expect(echo?.toolScopes).toEqual(['echo:whoami'])
    expect(supportedScopes(config)).toEqual(['mcp', 'echo:whoami'])
    expect(echo && protectedResourceMetadata(config, echo).scopes_supported).toEqual(['mcp'])
    expect(loadConfig({}).protectedResources[0]?.toolScopes).toEqual([])
  })

  it.each([
    ['missing.json', undefined, /^MCP_POLICY_FILE: cannot read /],
    ['broken.json', '{"services":', /^MCP_POLICY_FILE: .* is not JSON/],
    ['typo.json', { services: { ecko: {} } }, /services\.ecko: no such service/],
  ])('stops start-up on %s, naming the variable', async (name, document, message) => {
    const path = document === undefined ? join(dir, name) : await file(name, document)
    expect(() => loadConfig({ MCP_POLICY_FILE: path })).toThrow(ConfigError)
    expect(() => loadConfig({ MCP_POLICY_FILE: path })).toThrow(message)
  })
})
