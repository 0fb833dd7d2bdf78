import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { describe, expect, inject, it } from 'vitest'
import type { TestAuthServer } from '../../../tests/support/auth-app.ts'
import {
  ALICE,
  authorizeUrl,
  browserFor,
  exchangeCode,
  newPkce,
  obtainCode,
  registerTestClient,
  tokenRequest,
  useFlowServer,
} from '../../../tests/support/oauth-flow.ts'
import { runCommand } from './run-command.ts'

describe('admin CLI', () => {
  let server: TestAuthServer
  useFlowServer({ ALLOWED_GITHUB_USERS: 'alice' }, (fixture) => {
    server = fixture.server
  })
  const context = () => ({ config: server.config, store: server.store, clock: server.clock })

  it('withdraws a consent, revoking the tokens it led to and asking again next time', async () => {
    const client = await registerTestClient(server)
    const browser = browserFor(server)
    const { code, pkce } = await obtainCode(server, client, newPkce(), browser)
    const tokens = (await (await exchangeCode(server, client, code, pkce)).json()) as Record<
      string,
      string
    >

    const listed = await runCommand(context(), ['consents', 'list', String(ALICE.id)])
    expect(listed.data).toEqual({ user_id: String(ALICE.id), clients: [client.client_id] })
    const revoked = await runCommand(context(), [
      'consents',
      'revoke',
      String(ALICE.id),
      client.client_id,
    ])
    expect((revoked.data as { revoked_families: string[] }).revoked_families).toHaveLength(1)

    const refresh = await tokenRequest(server, client, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token ?? '',
    })
    expect(await refresh.json()).toMatchObject({ error: 'invalid_grant' })
    const again = await browser.open(authorizeUrl(client, newPkce()), client.redirect_uris[0] ?? '')
    expect(again.body).toContain('Approve')
  })

  it('lists and deletes clients, and rotates keys', async () => {
    const client = await registerTestClient(server, { client_name: 'listed' })
    const list = await runCommand(context(), ['clients', 'list'])
    expect((list.data as { client_id: string }[]).map((c) => c.client_id)).toContain(
      client.client_id
    )
    expect((await runCommand(context(), ['clients', 'delete', client.client_id])).data).toEqual({
      client_id: client.client_id,
      deleted: true,
    })
    const before = server.signingKeys.current().kid
    const rotated = (await runCommand(context(), ['keys', 'rotate'])).data as { kid: string }
    await server.signingKeys.reload()
    expect(server.signingKeys.current().kid).toBe(rotated.kid)
    expect(server.signingKeys.jwks().keys.map((k) => k.kid)).toContain(before)
  })

  it('runs as a command with --json, and explains its usage', async () => {
    const run = async (args: string[], env: Record<string, string>) => {
      const child = spawn(process.execPath, ['auth/src/cli/main.ts', ...args], {
        cwd: new URL('../../../', import.meta.url).pathname,
        env: { PATH: process.env.PATH ?? '', ...env },
      })
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk
      })
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk
      })
      const [code] = (await once(child, 'exit')) as [number]
      return { code, stdout, stderr }
    }
    const env = { REDIS_URL: inject('redisUrl'), REDIS_KEY_PREFIX: 'cli-test:' }
    const listed = await run(['--json', 'clients', 'list'], env)
    expect(listed.code).toBe(0)
    expect(JSON.parse(listed.stdout)).toEqual([])
    const usage = await run(['nonsense'], env)
    expect(usage.code).toBe(2)
    expect(usage.stderr).toContain('usage: npm run admin')
    const noRedis = await run(['clients', 'list'], {})
    expect(noRedis.code).toBe(2)
    expect(noRedis.stderr).toContain('REDIS_URL')
  })
})
