import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { loadPolicyFile, needsMemberships, parsePolicy, toolScopes } from './policy-format.ts'

describe('the policy format', () => {
  it('reads ids written as numbers or digit strings, with defaults filled in', () => {
    const policy = parsePolicy({
      services: {
        echo: {
          allow: { users: [4242, '007'] },
          tools: { whoami: { scopes: ['echo:whoami'] } },
        },
      },
    })
    expect(policy.services.echo).toEqual({
      allow: { users: ['4242', '7'], organizations: [], teams: [] },
      tools: { whoami: { scopes: ['echo:whoami'] } },
      unlistedTools: 'allow',
    })
  })

  it.each([
    [{ services: { echo: { allow: { user: [1] } } } }, /services\.echo\.allow/],
    [{ services: { echo: { allow: { users: ['octocat'] } } } }, /services\.echo\.allow\.users\.0/],
    [{ services: { echo: { tools: { x: { scopes: ['a b'] } } } } }, /scope token/],
    [{ services: { echo: { tools: { x: { scopes: ['offline_access'] } } } } }, /offline_access/],
    [{ services: { echo: { unlistedTools: 'maybe' } } }, /unlistedTools/],
    [{ service: {} }, /./],
  ])('refuses %j, naming the field', (document, message) => {
    expect(() => parsePolicy(document)).toThrow(message)
  })

  it('refuses a service the catalog does not have', () => {
    expect(() => parsePolicy({ services: { ecko: {} } }, ['echo'])).toThrow(
      'services.ecko: no such service (one of: echo)'
    )
  })

  it('collects the tool scopes and says when memberships are needed', () => {
    const { services } = parsePolicy({
      services: {
        echo: { tools: { a: { scopes: ['x', 'y'] }, b: { scopes: ['y'] } } },
        memory: { tools: { read_graph: { allow: { teams: [3] } } } },
      },
    })
    expect(toolScopes(services.echo)).toEqual(['x', 'y'])
    expect(toolScopes(undefined)).toEqual([])
    expect(needsMemberships(services.echo ?? { tools: {}, unlistedTools: 'allow' })).toBe(false)
    expect(needsMemberships(services.memory ?? { tools: {}, unlistedTools: 'allow' })).toBe(true)
  })
})

describe('loadPolicyFile', () => {
  const dirs: string[] = []
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true })
  })
  const file = async (text: string) => {
    const dir = await mkdtemp(join(tmpdir(), 'policy-'))
    dirs.push(dir)
    const path = join(dir, 'policy.json')
    await writeFile(path, text)
    return path
  }

  it('names the variable and the file in every refusal', async () => {
    expect(() => loadPolicyFile('/nonexistent/policy.json')).toThrow(
      /^MCP_POLICY_FILE: cannot read \/nonexistent\/policy\.json/
    )
    const broken = await file('{')
    expect(() => loadPolicyFile(broken)).toThrow(/^MCP_POLICY_FILE: .* is not JSON/)
    const wrong = await file('{"services":{"echo":{"allow":{"teams":["x"]}}}}')
    expect(() => loadPolicyFile(wrong)).toThrow(/^MCP_POLICY_FILE: .*services\.echo\.allow\.teams/)
    const good = await file('{"services":{"echo":{"allow":{"teams":[1]}}}}')
    expect(loadPolicyFile(good, ['echo']).services.echo?.allow?.teams).toEqual(['1'])
  })
})
