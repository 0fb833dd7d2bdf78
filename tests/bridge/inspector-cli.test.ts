import { spawn } from 'node:child_process'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { findService } from '../../mcp-services/src/catalog.ts'
import {
  identityHeaders,
  startTestBridge,
  type TestBridge,
} from '../../mcp-services/src/testing/harness.ts'

const cli = fileURLToPath(import.meta.resolve('@modelcontextprotocol/inspector-cli/build/cli.js'))

describe('MCP Inspector CLI, one-shot runs that never end their sessions', () => {
  let bridge: TestBridge
  beforeAll(async () => {
    const service = findService('echo')
    if (!service) throw new Error('echo is missing from the catalog')
    // The defaults: 10 sessions per user, idle sessions live 30 minutes.
    bridge = await startTestBridge(service)
  })
  afterAll(async () => {
    await bridge.close()
  })

  it('succeeds 25 times in a row for the same user', async () => {
    const headers = Object.entries(identityHeaders('inspector-user')).flatMap(([name, value]) => [
      '--header',
      `${name}: ${value}`,
    ])
    for (let run = 1; run <= 25; run++) {
      const { code, output } = await runCli([
        '--cli',
        bridge.url,
        '--method',
        'tools/list',
        ...headers,
      ])
      expect(code, `run ${run}: ${output.slice(-2000)}`).toBe(0)
      expect(output, `run ${run}`).toContain('whoami')
    }
    // The CLI never sends DELETE: the sessions it left behind stay within the per-user cap.
    expect(bridge.bridge.sessionCount()).toBeLessThanOrEqual(10)
  }, 300_000)
})

function runCli(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    // The CLI finds its own package.json through `../package.json` relative to the working
    // directory (and through the module for the import), so it runs from its build directory.
    const child = spawn(process.execPath, [cli, ...args], {
      cwd: dirname(cli),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
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
