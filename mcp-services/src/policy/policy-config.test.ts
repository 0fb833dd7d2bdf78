import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseBridgeConfig } from '../config.ts'

describe('MCP_POLICY_FILE in the bridge configuration', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bridge-policy-'))
  })
  afterAll(() => rm(dir, { recursive: true, force: true }))

  it('is read and checked at start', async () => {
    const path = join(dir, 'policy.json')
    await writeFile(path, JSON.stringify({ services: { echo: { allow: { users: [7] } } } }))
    expect(
      parseBridgeConfig({ MCP_POLICY_FILE: path }).policy?.services.echo?.allow?.users
    ).toEqual(['7'])
    expect(parseBridgeConfig({}).policy).toBeUndefined()
  })

  it('stops start-up on a bad file, naming the variable and the field', async () => {
    const path = join(dir, 'bad.json')
    await writeFile(path, JSON.stringify({ services: { echo: { tools: { x: { scope: [] } } } } }))
    expect(() => parseBridgeConfig({ MCP_POLICY_FILE: path })).toThrow(
      /^MCP_POLICY_FILE: .*services\.echo\.tools\.x/
    )
  })
})
