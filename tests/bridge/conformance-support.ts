import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect } from 'vitest'

const root = fileURLToPath(new URL('../../', import.meta.url))
/** An installed package's file, hoisted to the root or kept in the tests workspace. */
export const installed = (path: string) =>
  [join(root, 'node_modules', path), join(root, 'tests/node_modules', path)].find((file) =>
    existsSync(file)
  )
/** The suite's release (0.1.16): its default "active" suite. */
export const cli = installed('@modelcontextprotocol/conformance/dist/index.js')
/** The next line of the suite (0.2.0-alpha), which runs a requirement set per spec revision. */
export const nextCli = installed('mcp-conformance-next/dist/index.js')

/** `requirements/<revision>.yaml` of the suite: what conformance to a spec revision requires. */
export interface RequirementSet {
  readonly server: readonly string[]
  readonly not_scored: readonly { scenario: string; leg: string; reason: string }[]
}

export interface Check {
  readonly id: string
  readonly status: string
  readonly errorMessage?: string
}

/**
 * Checks of a scenario that may warn (or, with `fails`, fail), each set with the reason it is
 * outside the bridge's reach.
 */
export type Exceptions = Readonly<
  Record<
    string,
    { readonly checks: readonly string[]; readonly reason: string; readonly fails?: true }
  >
>

/** Nothing failed, warnings only where `exceptions` says, and (exceptions aside) something passed. */
export function expectPassed(scenario: string, checks: readonly Check[], exceptions: Exceptions) {
  const excepted = exceptions[scenario]
  const excused = (check: Check) =>
    excepted?.checks.includes(check.id) && (check.status === 'WARNING' || excepted.fails)
  const problems = checks
    .filter((check) => check.status === 'FAILURE' || check.status === 'WARNING')
    .filter((check) => !excused(check))
    .map((check) => `${check.status} ${check.id}: ${check.errorMessage ?? ''}`)
  expect(problems, scenario).toEqual([])
  if (!excepted)
    expect(
      checks.some((check) => check.status === 'SUCCESS'),
      scenario
    ).toBe(true)
}

export function run(
  command: string,
  args: string[]
): Promise<{ code: number | null; output: string }> {
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

export async function readChecks(dir: string): Promise<Check[]> {
  const checks: Check[] = []
  for (const entry of await readdir(dir)) {
    const file = join(dir, entry, 'checks.json')
    if (existsSync(file)) checks.push(...(JSON.parse(await readFile(file, 'utf8')) as Check[]))
  }
  return checks
}

/** The checks of each scenario, by name (`-o` writes `server-<scenario>-<timestamp>/`). */
export async function readScenarios(dir: string): Promise<Map<string, Check[]>> {
  const scenarios = new Map<string, Check[]>()
  for (const entry of await readdir(dir)) {
    const scenario = /^server-(.+)-\d{4}-\d{2}-\d{2}T/.exec(entry)?.[1]
    const file = join(dir, entry, 'checks.json')
    if (!scenario || !existsSync(file)) continue
    const checks = JSON.parse(await readFile(file, 'utf8')) as Check[]
    scenarios.set(scenario, [...(scenarios.get(scenario) ?? []), ...checks])
  }
  return scenarios
}
