import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { describe, expect, inject, it } from 'vitest'
import type { TestAuthServer } from '../../../tests/support/auth-app.ts'
import {
  exchangeCode,
  obtainCode,
  registerTestClient,
  useFlowServer,
} from '../../../tests/support/oauth-flow.ts'
import type { AuditRecord } from '../audit/audit-events.ts'
import { createAuditTrail } from '../audit/audit-trail.ts'
import { ConfigError, loadConfig } from '../config.ts'
import { createLogger } from '../logger.ts'
import { createRedisStore } from '../store/redis-store.ts'
import { runCommand } from './run-command.ts'

describe('admin audit', () => {
  let server: TestAuthServer
  useFlowServer({ ALLOWED_GITHUB_USERS: 'alice' }, (fixture) => {
    server = fixture.server
  })
  const cliLines: Record<string, unknown>[] = []
  const context = () => ({
    config: server.config,
    store: server.store,
    clock: server.clock,
    audit: createAuditTrail({
      logger: createLogger('silent', {
        write: (line: string) => {
          cliLines.push(JSON.parse(line) as Record<string, unknown>)
        },
      }),
      clock: server.clock,
      store: server.store,
      streamMaxLength: server.config.auditStreamMaxLength,
      caller: 'cli',
    }),
  })
  const audit = async (...args: string[]) => {
    const result = await runCommand(context(), ['audit', ...args])
    return { records: result.data as AuditRecord[], text: result.text }
  }

  it('shows the newest events kept in the store, filtered by user, client, event and time', async () => {
    const client = await registerTestClient(server, { client_name: 'Audited client' })
    const other = await registerTestClient(server, { client_name: 'Other client' })
    const { code, pkce } = await obtainCode(server, client)
    expect((await exchangeCode(server, client, code, pkce)).status).toBe(200)
    server.clock.advance(60_000)
    await runCommand(context(), ['tokens', 'revoke', '--user', 'alice'])

    const everything = (await audit('--limit', '1000')).records
    const names = everything.map((record) => record.event)
    expect(names).toEqual(
      expect.arrayContaining([
        'client.registered',
        'user.signed_in',
        'authorization.consent_given',
        'token.issued',
        'token.revoked',
        'admin.tokens_revoked',
      ])
    )
    // Oldest first, as a log reads.
    expect(names.indexOf('client.registered')).toBeLessThan(names.indexOf('token.issued'))
    expect(names.at(-1)).toBe('admin.tokens_revoked')
    expect(everything.at(-1)).toMatchObject({
      caller: 'cli',
      selector: { user: 'alice' },
      families: 1,
    })
    expect(cliLines.map((line) => line.event)).toEqual(['token.revoked', 'admin.tokens_revoked'])
    // The CLI knows the family's client by id: the trail names it from its registration.
    expect(cliLines[0]).toMatchObject({
      client_id: client.client_id,
      client_name: 'Audited client',
    })

    const byLogin = (await audit('--user', 'ALICE', '--limit', '1000')).records
    expect(byLogin.length).toBeGreaterThanOrEqual(4)
    expect(byLogin.every((record) => record.user_id === '1001')).toBe(true)
    expect((await audit('--user', '1001', '--limit', '1000')).records).toEqual(byLogin)
    const ofOther = (await audit('--client', other.client_id)).records
    expect(ofOther).toEqual([
      expect.objectContaining({ event: 'client.registered', client_name: 'Other client' }),
    ])
    const tokenEvents = (await audit('--event', 'token.', '--limit', '1000')).records
    expect(new Set(tokenEvents.map((record) => record.event))).toEqual(
      new Set(['token.issued', 'token.revoked'])
    )
    expect((await audit('--event', 'token.issued')).records).toHaveLength(1)
    const newestTwo = (await audit('--limit', '2')).records
    expect(newestTwo.map((record) => record.event)).toEqual([
      'token.revoked',
      'admin.tokens_revoked',
    ])
    expect((await audit('--since', '30s')).records.map((record) => record.event)).toEqual([
      'token.revoked',
      'admin.tokens_revoked',
    ])
    const future = new Date(server.clock.now() + 60_000).toISOString()
    expect((await audit('--since', future)).text).toBe('no audit events match')

    const { text } = await audit('--event', 'token.issued')
    expect(text).toMatch(
      /^\d{4}-\d\d-\d\dT[\d:.]+Z {2}token\.issued {2}alice \(1001\) {2}client "Audited client" \(/
    )
    expect(text).toContain('grant_type=authorization_code')
  })

  it('shows a client without a name by its id alone', async () => {
    const unnamed = await registerTestClient(server, { client_name: undefined })
    await runCommand(context(), ['clients', 'delete', unnamed.client_id])
    const { text } = await audit('--client', unnamed.client_id, '--event', 'client.deleted')
    expect(text).toMatch(
      new RegExp(
        `^\\S+ {2}client\\.deleted {2}client ${unnamed.client_id} {2}from cli {2}by=admin$`
      )
    )
  })

  it('refuses options it does not understand, saying what is wrong before the usage', async () => {
    for (const [args, fault] of [
      [['--limit', '0'], '--limit: a whole number from 1 to 10000'],
      [['--limit', 'x'], '--limit: a whole number from 1 to 10000'],
      [['--limit', '1.5'], '--limit: a whole number from 1 to 10000'],
      [['--limit', '1e3'], '--limit: a whole number from 1 to 10000'],
      [['--since', 'yesterday'], '--since: not a time or a duration'],
      [['--user', ''], '--user: empty'],
      [['extra'], 'unexpected word extra'],
      [['--lmit', '5'], "Unknown option '--lmit'."],
      [['--limit'], "Option '--limit <value>' argument missing"],
    ] as const) {
      const refusal = await audit(...args).then(
        () => 'accepted',
        (error: Error) => error.message
      )
      expect(refusal.split('\n').slice(0, 2)).toEqual([fault, expect.stringMatching(/^usage: /)])
    }
  })
})

describe('the audit stream setting', () => {
  it('defaults to 10,000 events, may be 0, and a bad value names the variable', () => {
    expect(loadConfig({}).auditStreamMaxLength).toBe(10_000)
    expect(loadConfig({ AUDIT_STREAM_MAX_LENGTH: '0' }).auditStreamMaxLength).toBe(0)
    expect(() => loadConfig({ AUDIT_STREAM_MAX_LENGTH: '-1' })).toThrow(ConfigError)
    expect(() => loadConfig({ AUDIT_STREAM_MAX_LENGTH: 'many' })).toThrow(
      /^AUDIT_STREAM_MAX_LENGTH/
    )
  })
})

describe('the admin CLI process', () => {
  it('writes audit lines to standard error, keeps standard output for the answer', async () => {
    const prefix = `audit-cli-test:${process.pid}:`
    const env = {
      PATH: process.env.PATH ?? '',
      REDIS_URL: inject('redisUrl'),
      REDIS_KEY_PREFIX: prefix,
    }
    const run = async (args: string[]) => {
      const child = spawn(process.execPath, ['auth/src/cli/main.ts', ...args], { env })
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString()
      })
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString()
      })
      const [status] = await once(child, 'exit')
      return { status, stdout, stderr }
    }
    try {
      const rotated = await run(['--json', 'keys', 'rotate'])
      expect(rotated.status).toBe(0)
      const { kid } = JSON.parse(rotated.stdout) as { kid: string }
      expect(JSON.parse(rotated.stderr)).toMatchObject({
        audit: true,
        event: 'admin.signing_key_rotated',
        kid,
        caller: 'cli',
      })
      const read = await run(['--json', 'audit', '--event', 'admin.'])
      expect(read.status).toBe(0)
      expect(read.stderr).toBe('')
      expect(JSON.parse(read.stdout)).toEqual([
        expect.objectContaining({ event: 'admin.signing_key_rotated', kid, caller: 'cli' }),
      ])
    } finally {
      const store = createRedisStore(env.REDIS_URL, prefix)
      const found: string[] = []
      for await (const key of store.scan('')) found.push(key)
      if (found.length > 0) await store.delete(...found)
      await store.close()
    }
  }, 30_000)
})
