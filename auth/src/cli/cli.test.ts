import { generateKeyPairSync, randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, inject, it } from 'vitest'
import { admin } from '../../../tests/support/admin-cli.ts'
import type { TestAuthServer } from '../../../tests/support/auth-app.ts'
import { freePort } from '../../../tests/support/free-port.ts'
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
import type { AuditEvent } from '../audit/audit-events.ts'
import { keys } from '../store/keys.ts'
import { createRedisStore } from '../store/redis-store.ts'
import { runCommand } from './run-command.ts'

describe('admin CLI', () => {
  let server: TestAuthServer
  useFlowServer({ ALLOWED_GITHUB_USERS: 'alice' }, (fixture) => {
    server = fixture.server
  })
  const audited: AuditEvent[] = []
  const context = () => ({
    config: server.config,
    store: server.store,
    clock: server.clock,
    audit: {
      record: async (event: AuditEvent) => {
        audited.push(event)
      },
    },
  })

  it('withdraws a consent, revoking the tokens it led to and asking again next time', async () => {
    audited.length = 0
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
    const families = (revoked.data as { revoked_families: string[] }).revoked_families
    expect(families).toHaveLength(1)
    // The same events as the user's own Revoke on /account, by the operator: the user named by
    // login too, though the operator gave only the id.
    const user = { id: String(ALICE.id), login: 'alice' }
    const named = { client_id: client.client_id, metadata: { client_name: 'Test client' } }
    expect(audited).toEqual([
      {
        event: 'token.revoked',
        by: 'admin',
        token_type: 'refresh_token',
        family_id: families[0],
        user,
        client: named,
      },
      { event: 'authorization.consent_revoked', by: 'admin', user, client: named, families: 1 },
    ])
    // Withdrawing it again finds nothing: a failure a script sees, and nothing recorded.
    const again = await runCommand(context(), [
      'consents',
      'revoke',
      String(ALICE.id),
      client.client_id,
    ])
    expect(again.exitCode).toBe(1)
    expect(again.text).toBe(
      `no consent or tokens of user ${ALICE.id} for client ${client.client_id} (no live token has the login ${ALICE.id} either: pass the user id, which audit --user ${ALICE.id} shows)`
    )
    expect(audited).toHaveLength(2)

    const refresh = await tokenRequest(server, client, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token ?? '',
    })
    expect(await refresh.json()).toMatchObject({ error: 'invalid_grant' })
    const page = await browser.open(authorizeUrl(client, newPkce()), client.redirect_uris[0] ?? '')
    expect(page.body).toContain('Approve')
  })

  it('takes a login for the user of `consents`, as `tokens` does, and says when none resolves', async () => {
    const client = await registerTestClient(server)
    const { code, pkce } = await obtainCode(server, client, newPkce(), browserFor(server))
    await exchangeCode(server, client, code, pkce)

    const listed = await runCommand(context(), ['consents', 'list', 'Alice'])
    expect(listed.data).toEqual({ user_id: String(ALICE.id), clients: [client.client_id] })
    const revoked = await runCommand(context(), ['consents', 'revoke', 'alice', client.client_id])
    expect(revoked.data).toMatchObject({ user_id: String(ALICE.id), withdrawn: true })
    expect(revoked.data).toMatchObject({ revoked_families: [expect.any(String)] })

    const unknown = await runCommand(context(), ['consents', 'list', 'bob'])
    expect([unknown.text, unknown.exitCode]).toEqual([
      'no consents (no live token has the login bob either: pass the user id, which audit --user bob shows)',
      undefined,
    ])
  })

  it('lists and deletes clients, and rotates keys', async () => {
    const client = await registerTestClient(server, { client_name: 'listed' })
    const list = await runCommand(context(), ['clients', 'list'])
    expect((list.data as { client_id: string }[]).map((c) => c.client_id)).toContain(
      client.client_id
    )
    const deleted = await runCommand(context(), ['clients', 'delete', client.client_id])
    expect(deleted.data).toEqual({ client_id: client.client_id, deleted: true })
    expect(deleted.exitCode).toBeUndefined()
    // Gone, it is no client: `delete` fails as `show` does (exit 1), for a script to see.
    for (const action of ['delete', 'show']) {
      const missing = await runCommand(context(), ['clients', action, client.client_id])
      expect([missing.text, missing.exitCode]).toEqual([`no client ${client.client_id}`, 1])
    }
    const before = server.signingKeys.current().kid
    const rotated = (await runCommand(context(), ['keys', 'rotate'])).data as { kid: string }
    await server.signingKeys.reload()
    expect(server.signingKeys.current().kid).toBe(rotated.kid)
    expect(server.signingKeys.jwks().keys.map((k) => k.kid)).toContain(before)
  })

  it('records no admin action that did nothing: a revocation matching no token family', async () => {
    audited.length = 0
    const none = await runCommand(context(), ['tokens', 'revoke', '--user', 'nobody-here'])
    expect([none.text, none.exitCode]).toEqual(['no live token family matches: nothing revoked', 1])
    expect(audited).toEqual([])
  })

  it('refuses to rotate a pinned signing key: exit 1, one line, the ring untouched', async () => {
    const prefix = `cli-pinned-${randomUUID()}:`
    const pinned = Buffer.from(
      generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
        type: 'pkcs8',
        format: 'pem',
      })
    ).toString('base64')
    const env = { REDIS_URL: inject('redisUrl'), REDIS_KEY_PREFIX: prefix }
    const refused = await admin(['keys', 'rotate'], { ...env, JWT_PRIVATE_KEY_B64: pinned })
    expect(refused.code).toBe(1)
    expect(refused.stdout).toBe('')
    expect(refused.stderr).toBe(
      'JWT_PRIVATE_KEY_B64 pins the signing key: nothing rotated; replace that value and restart the gateway instead\n'
    )
    const trail = await admin(['--json', 'audit', '--event', 'admin.'], env)
    expect(JSON.parse(trail.stdout)).toEqual([])
    const store = createRedisStore(env.REDIS_URL, prefix)
    try {
      expect(await store.get(keys.signingKeys())).toBeNull()
    } finally {
      await store.close()
    }
  })

  it('runs as a command with --json, and explains its usage', async () => {
    const env = { REDIS_URL: inject('redisUrl'), REDIS_KEY_PREFIX: 'cli-test:' }
    const listed = await admin(['--json', 'clients', 'list'], env)
    expect(listed.code).toBe(0)
    expect(JSON.parse(listed.stdout)).toEqual([])
    const usage = await admin(['nonsense'], env)
    expect(usage.code).toBe(2)
    expect(usage.stderr).toContain('usage: npm run admin')
    // A mistake says what it was before the usage.
    expect(usage.stderr.split('\n')[0]).toBe('unknown command: nonsense')
    const [subcommand, secret, url] = await Promise.all([
      admin(['clients', 'frob'], env),
      admin(['secrets', 'NOPE', '--file', '/nonexistent/.env'], env),
      admin(['health', '--url', 'notaurl'], env),
    ])
    expect([subcommand.code, subcommand.stderr.split('\n')[0]]).toEqual([
      2,
      'unknown subcommand: frob',
    ])
    expect([secret.code, secret.stderr.split('\n')[0]]).toEqual([
      2,
      expect.stringMatching(/^cannot generate NOPE: the generated secrets are /),
    ])
    expect([url.code, url.stderr.split('\n')[0]]).toEqual([2, '--url: not a URL: notaurl'])
    const noRedis = await admin(['clients', 'list'])
    expect(noRedis.code).toBe(2)
    expect(noRedis.stderr).toContain('REDIS_URL')
  })

  it('lists and views backup files while the store is away', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cli-backups-'))
    try {
      const env = { REDIS_URL: inject('redisUrl'), REDIS_KEY_PREFIX: `cli-files-${randomUUID()}:` }
      const file = join(dir, 'one.json')
      expect((await admin(['backup', file], env)).code).toBe(0)
      // Port 1 is privileged: no Redis answers there.
      const away = { REDIS_URL: 'redis://127.0.0.1:1' }
      const listed = await admin(['backup', 'list', '--dir', dir], away)
      expect([listed.code, listed.stderr]).toEqual([0, ''])
      expect(listed.stdout).toContain('one.json')
      const viewed = await admin(['--json', 'backup', 'view', file], away)
      expect(viewed.code).toBe(0)
      expect(JSON.parse(viewed.stdout)).toMatchObject({ file })
      // Writing one needs the store, and says so.
      const written = await admin(['backup', join(dir, 'two.json')], away)
      expect(written.code).toBe(1)
      expect(written.stderr).toMatch(/is unavailable/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }, 30_000)

  it('says "nothing to act on" on standard error (exit 1); --json still answers on standard output', async () => {
    const env = { REDIS_URL: inject('redisUrl'), REDIS_KEY_PREFIX: 'cli-test:' }
    const [shown, shownJson, revoked] = await Promise.all([
      admin(['clients', 'show', 'no-such-client'], env),
      admin(['--json', 'clients', 'show', 'no-such-client'], env),
      admin(['consents', 'revoke', '7000', 'no-such-client'], env),
    ])
    expect(shown).toEqual({ code: 1, stdout: '', stderr: 'no client no-such-client\n' })
    expect(shownJson.code).toBe(1)
    expect(JSON.parse(shownJson.stdout)).toEqual({ client_id: 'no-such-client', found: false })
    expect([revoked.code, revoked.stdout]).toEqual([1, ''])
    expect(revoked.stderr).toBe(
      'no consent or tokens of user 7000 for client no-such-client (no live token has the login 7000 either: pass the user id, which audit --user 7000 shows)\n'
    )
  })

  it('prints its usage on standard output when asked, exit 0; a mistake’s on standard error', async () => {
    const env = { REDIS_URL: inject('redisUrl'), REDIS_KEY_PREFIX: 'cli-test:' }
    const everyCommand = [['--help'], ['-h'], ['help'], ['--json', '--help']]
    const clientsOnly = [
      ['help', 'clients'],
      ['clients', '--help'],
      ['clients', 'show', '-h'],
    ]
    const [full, clients, helpNonsense, ...helped] = await Promise.all(
      [['nonsense'], ['clients'], ['help', 'nonsense'], ...everyCommand, ...clientsOnly].map(
        (args) => admin(args, env)
      )
    )
    if (!full || !clients) throw new Error('the CLI did not run')
    expect(full.code).toBe(2)
    expect(helpNonsense).toEqual(full)
    // The mistake's first line names it; the usage under it is what help prints.
    expect(full.stderr.split('\n')[0]).toBe('unknown command: nonsense')
    for (const help of helped.slice(0, everyCommand.length)) {
      expect(help).toEqual({
        code: 0,
        stdout: full.stderr.slice(full.stderr.indexOf('\n') + 1),
        stderr: '',
      })
    }
    // A command's usage lists every form it dispatches: `clients show` too.
    expect(clients.code).toBe(2)
    expect(clients.stdout).toBe('')
    for (const form of ['list', 'count', 'show <client-id>', 'delete <client-id>']) {
      expect(clients.stderr).toContain(`  clients ${form} `)
      expect(full.stderr).toContain(`  clients ${form} `)
    }
    for (const help of helped.slice(everyCommand.length)) {
      expect(help).toEqual({ code: 0, stdout: clients.stderr, stderr: '' })
    }
  })

  it('says in one line that the store cannot be used, never its password: exit 1', async () => {
    const url = `redis://admin:hunter2-Secret@127.0.0.1:${await freePort()}/0`
    const result = await admin(['clients', 'list'], { REDIS_URL: url })
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr:
        `the store at redis://admin:***@${url.split('@')[1]} is unavailable: ` +
        'no connection could be made (refused, unreachable or unknown host)\n',
    })
  })
})
