import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { findService } from '../../mcp-services/src/catalog.ts'
import { startTestBridge, type TestBridge } from '../../mcp-services/src/testing/harness.ts'
import {
  cli,
  type Exceptions,
  expectPassed,
  installed,
  nextCli,
  type RequirementSet,
  readChecks,
  readScenarios,
  run,
} from './conformance-support.ts'

const requirementsFile = installed('mcp-conformance-next/requirements/2025-11-25.yaml')
const baseline = fileURLToPath(new URL('./conformance-baseline.yml', import.meta.url))

/**
 * Warnings the fixtures cannot avoid, by scenario and check: gaps of the bridge, each with its
 * reason. Every other check of the fixture runs must pass or be informational.
 */
const bridgeGaps: Exceptions = {
  'server-sse-polling': {
    checks: ['server-sse-retry-field'],
    reason:
      'SSE resumability (pending in the suite, not scored): the bridge sends a priming event ' +
      'but no retry field, and closes no stream to be resumed (a stdio child cannot ask it to)',
  },
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

describe('MCP conformance suite, server scenarios, against the bridged conformance fixtures', () => {
  let bridge: TestBridge
  let outputDir: string
  let requirements: RequirementSet
  beforeAll(async () => {
    const service = findService('conformance')
    if (!service) throw new Error('conformance is missing from the catalog')
    if (!requirementsFile) throw new Error('mcp-conformance-next is not installed')
    requirements = parse(await readFile(requirementsFile, 'utf8')) as RequirementSet
    // As above: no identity headers, and the release never ends its sessions.
    bridge = await startTestBridge(service, { allowAnonymous: true, maxSessionsPerUser: 200 })
    outputDir = await mkdtemp(join(tmpdir(), 'conformance-fixtures-'))
  })
  afterAll(async () => {
    await bridge.close()
    await rm(outputDir, { recursive: true, force: true })
  })

  it('passes every scenario of the active suite: the 2025-11-25 server requirements', async () => {
    if (!cli) throw new Error('@modelcontextprotocol/conformance is not installed')
    const dir = join(outputDir, 'active')
    const { code, output } = await run(process.execPath, [
      ...[cli, 'server', '--url', bridge.url, '-o', dir],
    ])
    const scenarios = await readScenarios(dir)
    expect([...scenarios.keys()].sort()).toEqual([...requirements.server].sort())
    for (const [scenario, checks] of scenarios) expectPassed(scenario, checks, bridgeGaps)
    expect(code, output.slice(-3000)).toBe(0)
  }, 120_000)

  it('passes the 2025-11-25 requirement set, and what it runs without scoring', async () => {
    if (!nextCli) throw new Error('mcp-conformance-next is not installed')
    const dir = join(outputDir, 'requirements')
    const { code, output } = await run(process.execPath, [
      ...[nextCli, 'server', '--url', bridge.url, '--requirements', '2025-11-25', '-o', dir],
    ])
    const scenarios = await readScenarios(dir)
    const unscored = requirements.not_scored.filter((entry) => entry.leg === 'server')
    expect([...scenarios.keys()].sort()).toEqual(
      [...requirements.server, ...unscored.map((entry) => entry.scenario)].sort()
    )
    for (const [scenario, checks] of scenarios) expectPassed(scenario, checks, bridgeGaps)
    expect(code, output.slice(-3000)).toBe(0)
  }, 180_000)
})
