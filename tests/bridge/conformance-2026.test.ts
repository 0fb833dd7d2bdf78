import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { findService } from '../../mcp-services/src/catalog.ts'
import { startTestBridge, type TestBridge } from '../../mcp-services/src/testing/harness.ts'
import {
  type Exceptions,
  expectPassed,
  installed,
  nextCli,
  type RequirementSet,
  readScenarios,
  run,
} from './conformance-support.ts'

const requirementsFile = installed('mcp-conformance-next/requirements/2026-07-28.yaml')

/** The checks of the tasks extension's scenarios that fail: the bridge does not offer it. */
const tasksChecks: Readonly<Record<string, readonly string[]>> = {
  'tasks-lifecycle': [
    'sep-2663-result-type-task-on-create',
    'sep-2663-tasks-get-status-working',
    'sep-2663-tasks-get-status-completed',
    'sep-2663-tool-error-uses-completed-status',
    'sep-2663-tasks-get-status-failed',
    'sep-2663-cancel-ack-empty-result',
    'tasks-cancel-terminal-idempotent-ack',
  ],
  'tasks-capability-negotiation': [
    'tasks-extension-advertised',
    'sep-2663-tasks-methods-non-declaring',
    'tasks-per-request-meta-opt-in',
  ],
  'tasks-wire-fields': [
    'tasks-wire-field-renames',
    'tasks-no-early-ttl-expiry',
    'tasks-no-related-task-meta-on-inlined-result',
  ],
  'tasks-request-state-removal': ['tasks-request-state-removal-setup'],
  'tasks-mrtr-input': [
    'sep-2663-tasks-get-status-input-required',
    'tasks-mrtr-tasks-update-resumes',
    'tasks-mrtr-partial-fulfillment',
  ],
  'tasks-request-headers': [
    'tasks-headers-tolerate-mcp-method-on-tools-call',
    'sep-2663-routing-headers-accepted-on-tasks-get',
    'sep-2663-server-rejects-mismatched-mcp-name-on-tasks-get',
  ],
  'tasks-dispatch-and-envelope': [
    'tasks-server-directed-creation-no-hint',
    'sep-2663-legacy-task-param-ignored',
    'sep-2663-durable-create-strong-consistency',
    'sep-2663-tasks-get-invalid-task-id-32602',
  ],
  'tasks-required-task-error': ['sep-2663-server-returns-missing-capability-when-required'],
  'tasks-mrtr-composition': ['sep-2663-mrtr-synchronous-before-task-creation'],
  // Its one check is skipped by the suite itself: nothing to pass.
  'tasks-status-notifications': [],
}

/**
 * What the 2026-07-28 run may fail, by scenario and check, each with its reason. Only scenarios
 * the requirement set does not score are here (the tasks extension): every scored scenario, and
 * the other unscored ones, must pass whole.
 */
const exceptions: Exceptions = {
  ...Object.fromEntries(
    Object.entries(tasksChecks).map(([scenario, checks]) => [
      scenario,
      {
        checks,
        fails: true,
        reason:
          'the tasks extension (io.modelcontextprotocol/tasks, SEP-2663; not scored, an ' +
          'extension is optional): the bridge does not declare it, its 2025-era children ' +
          'have no 2026 tasks to offer, and tasks/* are unknown methods',
      },
    ])
  ),
}

describe('MCP conformance suite, 2026-07-28 requirement set, against the bridged fixtures', () => {
  let bridge: TestBridge
  let outputDir: string
  let requirements: RequirementSet
  beforeAll(async () => {
    const service = findService('conformance')
    if (!service) throw new Error('conformance is missing from the catalog')
    if (!requirementsFile) throw new Error('mcp-conformance-next is not installed')
    requirements = parse(await readFile(requirementsFile, 'utf8')) as RequirementSet
    // The suite sends no identity headers: every request is the anonymous user's, one child.
    bridge = await startTestBridge(service, { allowAnonymous: true })
    outputDir = await mkdtemp(join(tmpdir(), 'conformance-2026-'))
  })
  afterAll(async () => {
    await bridge?.close()
    await rm(outputDir, { recursive: true, force: true })
  })

  it('passes every scored scenario, and what it runs unscored but for the exceptions', async () => {
    if (!nextCli) throw new Error('mcp-conformance-next is not installed')
    const { code, output } = await run(process.execPath, [
      ...[nextCli, 'server', '--url', bridge.url, '--requirements', '2026-07-28'],
      ...['-o', outputDir],
    ])
    const scenarios = await readScenarios(outputDir)
    const unscored = requirements.not_scored.filter((entry) => entry.leg === 'server')
    expect([...scenarios.keys()].sort()).toEqual(
      [...requirements.server, ...unscored.map((entry) => entry.scenario)].sort()
    )
    for (const scenario of requirements.server)
      expect(exceptions[scenario], scenario).toBe(undefined)
    for (const [scenario, checks] of scenarios) expectPassed(scenario, checks, exceptions)
    expect(code, output.slice(-3000)).toBe(0)
  }, 120_000)
})
