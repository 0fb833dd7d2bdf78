import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { decodeJwt } from 'jose'
import { describe, expect, it } from 'vitest'
import type { GatewayProcess } from '../support/gateway-process.ts'
import { useGatewayWithGitHub } from '../support/gateway-with-github.ts'
import { HeadlessBrowser } from '../support/headless-browser.ts'

/** `npm run client-token`: a CLI gets a token through the device flow while a person approves. */
describe('client-token (device flow from the command line)', () => {
  let gateway: GatewayProcess
  useGatewayWithGitHub((fixture) => {
    gateway = fixture.gateway
  })

  it('prints the code, waits for approval in a browser, then prints the tokens', async () => {
    const resource = `${gateway.url}/echo/mcp`
    const cli = spawn(
      process.execPath,
      ['auth/src/cli/client-token.ts', '--issuer', gateway.url, '--resource', resource],
      {
        cwd: new URL('../../', import.meta.url).pathname,
        env: { PATH: process.env.PATH ?? '' },
      }
    )
    let stdout = ''
    let stderr = ''
    cli.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk
    })
    const link = new Promise<string>((resolve) => {
      cli.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk
        const match = /\(or open (\S+)\)/.exec(stderr)
        if (match?.[1]) resolve(match[1])
      })
    })
    const exited = once(cli, 'exit')

    const browser = new HeadlessBrowser()
    const codePage = await browser.open(await link, 'about:')
    const userCode = /value="([A-Z]{4}-[A-Z]{4})"/.exec(codePage.body)?.[1] ?? ''
    expect(stderr).toContain(`enter the code ${userCode}`)
    const consent = await browser.submitForm(codePage, { user_code: userCode }, 'about:')
    const done = await browser.submitConsent(consent, 'approve', 'about:')
    expect(done.body).toContain('Device connected')

    const [code] = (await exited) as [number]
    expect(code, stderr).toBe(0)
    const tokens = JSON.parse(stdout) as Record<string, string>
    expect(decodeJwt(tokens.access_token ?? '')).toMatchObject({ aud: resource, login: 'octocat' })
    expect(tokens.refresh_token).toBeTruthy()
  })
})
