import { spawn } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from '../support/free-port.ts'
import { type GitHubGateway, startGitHubGateway } from '../support/github-gateway.ts'
import { HeadlessBrowser } from '../support/headless-browser.ts'

/** The 0.2.0 line is the first with authorization-server scenarios (installed under an alias). */
const cli = fileURLToPath(
  new URL('../../node_modules/mcp-conformance-next/dist/index.js', import.meta.url)
)

interface Check {
  readonly id: string
  readonly status: 'SUCCESS' | 'FAILURE' | 'WARNING' | 'SKIPPED' | 'INFO'
  readonly errorMessage?: string
}

/** Checks the gateway does not meet on purpose, with the reason (kept in docs/conformance.md). */
const NOT_APPLICABLE: Record<string, string> = {
  'authorization-server-metadata-cimd':
    'Client ID Metadata Documents are not supported yet; the gateway registers clients dynamically',
}

describe('MCP conformance suite, authorization-server scenarios, against the gateway', () => {
  let env: GitHubGateway
  let outputDir: string
  beforeAll(async () => {
    env = await startGitHubGateway()
    outputDir = await mkdtemp(join(tmpdir(), 'conformance-as-'))
  })
  afterAll(async () => {
    await env?.stop()
    await rm(outputDir, { recursive: true, force: true })
  })

  // A public client: the suite authenticates with `none` whenever the server offers it.
  it.each([
    ['without a resource', false],
    ['with an MCP resource (RFC 8707)', true],
  ] as const)(
    'passes every applicable check, %s',
    async (_, withResource) => {
      const port = await freePort()
      const redirectUri = `http://127.0.0.1:${port}/callback`
      const client = await env.register({
        client_name: 'Conformance suite',
        redirect_uris: [redirectUri],
        token_endpoint_auth_method: 'none',
      })
      const dir = await mkdtemp(join(outputDir, 'run-'))
      const args = ['authorization', '--url', env.gateway.url, '--client-id', client.client_id]
      args.push('--port', String(port), '-o', dir)
      if (withResource) args.push('--resource', `${env.gateway.url}/echo/mcp`)

      const { code, output } = await runSuite(args, (url) => approveInBrowser(url, redirectUri))
      const checks = await readChecks(dir)
      expect(checks.map((check) => check.id).sort(), output).toEqual([
        'authorization-code-grant',
        'authorization-server-metadata',
        'authorization-server-metadata-cimd',
      ])
      for (const check of checks) {
        const expected = check.id in NOT_APPLICABLE ? 'WARNING' : 'SUCCESS'
        expect(check.status, `${check.id}: ${check.errorMessage ?? ''}\n${output}`).toBe(expected)
      }
      expect(code, output).toBe(0)
    },
    60_000
  )
})

/** Plays the user: approve on the consent page, GitHub approves, the browser lands on the suite. */
async function approveInBrowser(authorizationUrl: string, redirectUri: string): Promise<void> {
  const browser = new HeadlessBrowser()
  const consent = await browser.open(authorizationUrl, redirectUri)
  if (consent.response.status !== 200)
    throw new Error(`no consent page: ${consent.response.status} ${consent.body.slice(0, 300)}`)
  const landing = await browser.submitConsent(consent, 'approve', redirectUri)
  if (!landing.url.startsWith(redirectUri))
    throw new Error(`did not return to the client: ${landing.url} ${landing.body.slice(0, 300)}`)
  await fetch(landing.url)
}

/** Runs the suite's CLI; when it prints the authorization URL, `authorize` plays the browser. */
function runSuite(
  args: string[],
  authorize: (url: string) => Promise<void>
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    let started = false
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      const url = /^(http\S+\/authorize\?\S+)$/m.exec(output)?.[1]
      // Its callback server listens before it prints "started"; drive the browser only then.
      if (url && !started && output.includes('Callback server started')) {
        started = true
        authorize(url).catch((error: unknown) => {
          child.kill('SIGTERM')
          reject(error)
        })
      }
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.once('error', reject)
    child.once('close', (code) => resolve({ code, output }))
  })
}

async function readChecks(dir: string): Promise<Check[]> {
  const checks: Check[] = []
  for (const entry of await readdir(dir, { recursive: true })) {
    if (!entry.endsWith('checks.json')) continue
    checks.push(...(JSON.parse(await readFile(join(dir, entry), 'utf8')) as Check[]))
  }
  return checks
}
