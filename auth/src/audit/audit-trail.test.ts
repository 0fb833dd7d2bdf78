import { Hono } from 'hono'
import { afterAll, beforeEach, describe, expect, it } from 'vitest'
import { manualClock } from '../../../tests/support/auth-app.ts'
import {
  createTestRedisStore,
  type FillableRedis,
  useFillableRedis,
} from '../../../tests/support/stores.ts'
import { registerClient } from '../clients/client-registry.ts'
import { auditedRequest } from '../http/audited-request.ts'
import { createLogger } from '../logger.ts'
import { keys } from '../store/keys.ts'
import type { Store } from '../store/store.ts'
import { refuseSignIn } from '../users/sign-in-refusal.ts'
import { type AuditTrail, createAuditTrail } from './audit-trail.ts'
import { readAuditTrail } from './read-audit-trail.ts'

const clock = manualClock(Date.parse('2026-11-30T10:00:00.000Z'))
const alice = { id: '1001', login: 'alice', name: 'Alice', email: 'alice@example.com' }
const client = { client_id: 'c-1', metadata: { client_name: 'Claude', redirect_uris: [] } }

function capture(level: string) {
  const lines: Record<string, unknown>[] = []
  const logger = createLogger(level, {
    write: (line: string) => {
      lines.push(JSON.parse(line) as Record<string, unknown>)
    },
  })
  return { lines, logger }
}

const streamed = async (store: Store) =>
  (await store.readStream(keys.auditTrail(), 100)).map(
    (e) => JSON.parse(e.entry) as Record<string, unknown>
  )

describe('the audit trail', () => {
  const store = createTestRedisStore()
  beforeEach(() => store.clear())
  afterAll(async () => {
    await store.clear()
    await store.close()
  })

  it('writes one flat JSON line marked audit, whatever LOG_LEVEL says', async () => {
    for (const level of ['silent', 'warn', 'info']) {
      const { lines, logger } = capture(level)
      const audit = createAuditTrail({ logger, clock, store, streamMaxLength: 0 })
      await audit.record({
        event: 'token.issued',
        user: alice,
        client,
        grant_type: 'authorization_code',
        scope: 'mcp',
        family_id: 'f-1',
      })
      expect(lines).toHaveLength(1)
      expect(lines[0]).toMatchObject({
        level: 30,
        audit: true,
        event: 'token.issued',
        at: '2026-11-30T10:00:00.000Z',
        user_id: '1001',
        login: 'alice',
        client_id: 'c-1',
        client_name: 'Claude',
        grant_type: 'authorization_code',
        scope: 'mcp',
        family_id: 'f-1',
      })
      // Only id and login of the user: the name and e-mail stay out of the trail.
      expect(lines[0]).not.toHaveProperty('user')
      expect(JSON.stringify(lines[0])).not.toContain('alice@example.com')
      expect(lines[0]).not.toHaveProperty('caller')
    }
    expect(await streamed(store)).toEqual([])
  })

  it('writes a reuse (a credential that may have leaked) as a warning', async () => {
    const { lines, logger } = capture('error')
    const audit = createAuditTrail({ logger, clock, store, streamMaxLength: 0 })
    await audit.record({
      event: 'refresh_token.reuse_detected',
      user: alice,
      client,
      family_id: 'f',
    })
    await audit.record({ event: 'token.refreshed', user: alice, client, scope: '', family_id: 'f' })
    expect(lines.map((line) => [line.event, line.level])).toEqual([
      ['refresh_token.reuse_detected', 40],
      ['token.refreshed', 30],
    ])
  })

  it('keeps each record in the store’s stream, newest first', async () => {
    const { lines, logger } = capture('info')
    const audit = createAuditTrail({ logger, clock, store, streamMaxLength: 100 })
    await audit.record({
      event: 'client.registered',
      client,
      redirect_uris: [],
      grant_types: [],
      token_endpoint_auth_method: 'none',
    })
    clock.advance(1_000)
    await audit.record({ event: 'client.deleted', client, by: 'admin' })
    const records = await streamed(store)
    expect(records.map((r) => r.event)).toEqual(['client.deleted', 'client.registered'])
    expect(records[0]).toEqual({
      event: 'client.deleted',
      at: '2026-11-30T10:00:01.000Z',
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      client_id: 'c-1',
      client_name: 'Claude',
      by: 'admin',
    })
    expect(lines).toHaveLength(2)
    // One id per event, the same in the log line and in the stream.
    expect(lines.map((line) => line.id)).toEqual(records.map((r) => r.id).reverse())
    expect(new Set(lines.map((line) => line.id)).size).toBe(2)
  })

  it('reads an entry the stream holds twice once, however far apart the two are', async () => {
    const { logger } = capture('info')
    const audit = createAuditTrail({ logger, clock, store, streamMaxLength: 10_000 })
    await audit.record({ event: 'client.deleted', client, by: 'admin' })
    const [written] = await store.readStream(keys.auditTrail(), 1)
    // As versions that sent a stalled write again on a new connection could leave it (Redis ran
    // it on waking too); here with more than a page of the reader's between the two.
    for (let i = 0; i < 600; i++) {
      await audit.record({ event: 'admin.expired_purged', removed: i })
    }
    await store.appendToStream(keys.auditTrail(), [written?.entry ?? ''], 10_000)
    await store.appendToStream(keys.auditTrail(), [written?.entry ?? ''], 10_000)

    const deleted = await readAuditTrail(store, { event: 'client.deleted', limit: 10 })
    expect(deleted).toHaveLength(1)
    expect(await readAuditTrail(store, { limit: 1_000 })).toHaveLength(601)
    // Entries from before records had ids are all read.
    const { id: _, ...withoutId } = JSON.parse(written?.entry ?? '{}') as Record<string, unknown>
    await store.appendToStream(keys.auditTrail(), [JSON.stringify(withoutId)], 10_000)
    await store.appendToStream(keys.auditTrail(), [JSON.stringify(withoutId)], 10_000)
    expect(await readAuditTrail(store, { event: 'client.deleted', limit: 10 })).toHaveLength(3)
  })

  it('keeps about AUDIT_STREAM_MAX_LENGTH of the newest events', async () => {
    const { logger } = capture('info')
    const audit = createAuditTrail({ logger, clock, store, streamMaxLength: 150 })
    await Promise.all(
      Array.from({ length: 600 }, (_, i) =>
        audit.record({ event: 'admin.expired_purged', removed: i })
      )
    )
    const kept = (await store.readStream(keys.auditTrail(), 1_000)).map(
      (e) => JSON.parse(e.entry) as Record<string, unknown>
    )
    // Redis trims whole nodes of 100 entries: never fewer than the bound, at most a node more.
    expect(kept.length).toBeGreaterThanOrEqual(150)
    expect(kept.length).toBeLessThanOrEqual(250)
    expect(kept[0]?.removed).toBe(599)
  })

  it('names a client given by its id alone from its registration, as a sign-in refusal gives it', async () => {
    const { lines, logger } = capture('info')
    const audit = createAuditTrail({ logger, clock, store, streamMaxLength: 0 })
    const registry = { store, clock, clientLifetime: 3600 }
    const metadata = {
      redirect_uris: ['https://app.example.com/callback'],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    } as const
    const named = (await registerClient(registry, { ...metadata, client_name: 'Claude' })).client
    const unnamed = (await registerClient(registry, metadata)).client
    await refuseSignIn(
      { logger: createLogger('silent'), audit },
      {
        event: 'login_denied',
        flow: 'authorization_code',
        user: { id: '1001', login: 'alice' },
        clientId: named.client_id,
        reason: 'not_in_allowed_team',
      }
    )
    for (const client_id of [unnamed.client_id, 'never-registered']) {
      await audit.record({ event: 'client.deleted', client: { client_id }, by: 'admin' })
    }
    // Given with its metadata, a client is taken as it is: nothing is read for it.
    await audit.record({
      event: 'client.deleted',
      client: { client_id: named.client_id, metadata: {} },
      by: 'admin',
    })
    expect(
      lines.map(({ event, client_id, client_name }) => ({ event, client_id, client_name }))
    ).toEqual([
      { event: 'user.sign_in_refused', client_id: named.client_id, client_name: 'Claude' },
      { event: 'client.deleted', client_id: unnamed.client_id, client_name: undefined },
      { event: 'client.deleted', client_id: 'never-registered', client_name: undefined },
      { event: 'client.deleted', client_id: named.client_id, client_name: undefined },
    ])
  })

  it('takes the caller from the request being served, TRUST_PROXY respected', async () => {
    const { lines, logger } = capture('info')
    const audit = createAuditTrail({ logger, clock, store, streamMaxLength: 0, caller: 'cli' })
    const appFor = (trustProxy: boolean, trail: AuditTrail) =>
      new Hono().use('/x', auditedRequest(trustProxy)).post('/x', async (c) => {
        // Awaits in between: the caller follows the request through asynchronous work.
        await new Promise((resolve) => setTimeout(resolve, 5))
        await trail.record({ event: 'client.deleted', client, by: 'client' })
        return c.body(null, 204)
      })
    const request = (trustProxy: boolean, peer: string, forwarded?: string) =>
      appFor(trustProxy, audit).request(
        '/x',
        { method: 'POST', headers: forwarded ? { 'X-Forwarded-For': forwarded } : {} },
        { incoming: { socket: { remoteAddress: peer } } }
      )
    await request(false, '::ffff:10.0.0.7', '203.0.113.9')
    await request(true, '10.0.0.1', '198.51.100.1, 203.0.113.9')
    await request(false, '2001:db8::1:2')
    await audit.record({ event: 'admin.expired_purged', removed: 0 })
    expect(lines.map((line) => line.caller)).toEqual([
      '10.0.0.7',
      '203.0.113.9',
      '2001:db8::1:2',
      'cli',
    ])
  })
})

describe('the audit trail on a full store', () => {
  let redis: FillableRedis
  useFillableRedis((started) => {
    redis = started
  })

  it('never fails the caller: the line is written, the failure logged once and counted', async () => {
    const { lines, logger } = capture('info')
    const audit = createAuditTrail({ logger, clock, store: redis.store, streamMaxLength: 1_000 })
    await redis.fill()
    for (let i = 0; i < 3; i++) {
      await expect(audit.record({ event: 'client.deleted', client, by: 'admin' })).resolves.toBe(
        undefined
      )
    }
    // Redis may take one more small write just after refusing one.
    const failures = audit.streamFailures()
    expect(failures).toBeGreaterThanOrEqual(2)
    expect(lines.filter((line) => line.audit === true)).toHaveLength(3)
    const failed = lines.filter((line) => line.event === 'audit_stream_failed')
    expect(failed).toHaveLength(1)
    expect(failed[0]?.cause).toMatch(/OOM|full|memory/i)
    expect(JSON.stringify(failed[0])).not.toContain('stack')

    await redis.makeRoom()
    await audit.record({ event: 'client.deleted', client, by: 'admin' })
    expect(lines.filter((line) => line.event === 'audit_stream_recovered')).toEqual([
      expect.objectContaining({ failures }),
    ])
    expect(await redis.store.readStream(keys.auditTrail(), 10)).toHaveLength(4 - failures)
  })
})
