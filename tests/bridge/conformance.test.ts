import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { findService } from '../../mcp-services/src/catalog.ts'
import { startTestBridge, type TestBridge } from '../../mcp-services/src/testing/harness.ts'

const root = fileURLToPath(new URL('../../', import.meta.url))
const cli = [
  'node_modules/@modelcontextprotocol/conformance/dist/index.js',
  'tests/node_modules/@modelcontextprotocol/conformance/dist/index.js',
]
  .map((path) => join(root, path))
  .find((path) => existsSync(path))
const baseline = fileURLToPath(new URL('./conformance-baseline.yml', import.meta.url))

interface Check {
  readonly id: string
  readonly status: string
  readonly errorMessage?: string
}

describe('MCP conformance suite, server scenarios, against the bridged everything service', () => {
  let bridge: TestBridge
  let outputDir: string
  beforeAll(async () => {
    const service = findService('everything')
    if (!service) throw new Error('everything is missing from the catalog')
    // The suite sends no identity headers and never ends its sessions.
    bridge = await startTestBridge(service, { allowAnonymous: true, maxSessionsPerUser: 200 })
    outputDir = await mkdtemp(join(tmpdir(), 'conformance-'))
  })
  afterAll(async () => {
    await bridge.close()
    await rm(outputDir, { recursive: true, force: true })
  })

  it('passes every scenario except the baseline of missing fixtures', async () => {
    if (!cli) throw new Error('@modelcontextprotocol/conformance is not installed')
    const args = [cli, 'server', '--url', bridge.url, '--expected-failures', baseline]
    const { code, output } = await run(process.execPath, [...args, '-o', outputDir])
    const checks = await readChecks(outputDir)
    const failed = checks.filter((check) => check.status === 'FAILURE')
    // Every failure is a fixture the reference server lacks, never a transport problem.
    for (const check of failed) {
      expect(check.errorMessage ?? '', check.id).toMatch(
        /not found|did not request|No .* (content|notifications)|Expected multiple content items/
      )
    }
    expect(checks.filter((check) => check.status === 'SUCCESS').length).toBeGreaterThanOrEqual(14)
    expect(code, output.slice(-3000)).toBe(0)
  }, 120_000)
})

function run(command: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (chunk) => {
      output += chunk
    })
    child.stderr.on('data', (chunk) => {
      output += chunk
    })
    child.once('error', reject)
    child.once('close', (code) => resolve({ code, output }))
  })
}

async function readChecks(dir: string): Promise<Check[]> {
  const checks: Check[] = []
  for (const entry of await readdir(dir)) {
    const file = join(dir, entry, 'checks.json')
    if (existsSync(file)) checks.push(...(JSON.parse(await readFile(file, 'utf8')) as Check[]))
  }
  return checks
}
