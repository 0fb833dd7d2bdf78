import { Hono } from 'hono'
import { afterEach, describe, expect, it } from 'vitest'
import { runScript } from '../../../tests/support/admin-cli.ts'
import { freePort } from '../../../tests/support/free-port.ts'
import { type ListeningApp, listen } from '../../../tests/support/listening-app.ts'

const clientToken = (args: readonly string[], env: Record<string, string> = {}) =>
  runScript('auth/src/cli/client-token.ts', args, env)

/** One line on standard error, no stack, exit 1: what an operator can act on. */
function expectOneLine(run: { code: number | null; stderr: string }, line: string) {
  expect(run.stderr).toBe(`${line}\n`)
  expect(run.code).toBe(1)
}

/** `npm run client-token` when the issuer is not the gateway, or not there. */
describe('client-token failures', () => {
  let server: ListeningApp | undefined
  afterEach(async () => {
    await server?.close()
    server = undefined
  })

  it('asks the issuer the gateway announces from the same environment, and says it is not reachable', async () => {
    const port = await freePort()
    const wellKnown = '/.well-known/oauth-authorization-server'
    expectOneLine(
      await clientToken([], { PORT: String(port) }),
      `http://localhost:${port}${wellKnown}: not reachable (ECONNREFUSED)`
    )
    const issuer = `http://127.0.0.1:${port}`
    expectOneLine(
      await clientToken([], { AUTH_ISSUER: issuer, PORT: '1' }),
      `${issuer}${wellKnown}: not reachable (ECONNREFUSED)`
    )
  })

  it('names a server that answers something other than JSON, such as a bridge', async () => {
    server = await listen(new Hono())
    expectOneLine(
      await clientToken(['--issuer', server.origin]),
      `${server.origin}/.well-known/oauth-authorization-server: HTTP 404, not JSON (text/plain; charset=UTF-8)`
    )
  })

  it('names the endpoint that refused, with its OAuth error', async () => {
    server = await listen(
      new Hono()
        .get('/.well-known/oauth-authorization-server', (c) => c.json({ issuer: 'x' }))
        .post('/register', (c) =>
          c.json({ error: 'invalid_client_metadata', error_description: 'no device grant' }, 400)
        )
    )
    expectOneLine(
      await clientToken(['--issuer', server.origin]),
      `${server.origin}/register: HTTP 400: invalid_client_metadata: no device grant`
    )
  })

  it('answers a mistyped option or issuer with its usage, exit 2', async () => {
    const run = await clientToken(['--isuer', 'http://127.0.0.1:1'])
    expect(run.stderr).toMatch(/^Unknown option '--isuer'\.\nusage: npm run client-token/)
    expect(run.code).toBe(2)
    const env = await clientToken([], { AUTH_ISSUER: 'auth.example.com' })
    expect(env.stderr).toBe('AUTH_ISSUER: not a URL: auth.example.com\n')
    expect(env.code).toBe(2)
  })
})
