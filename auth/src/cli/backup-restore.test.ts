import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TEST_ISSUER, type TestAuthServer } from '../../../tests/support/auth-app.ts'
import {
  ALICE,
  clientRequest,
  exchangeCode,
  newPkce,
  obtainCode,
  type Pkce,
  type RegisteredClient,
  registerTestClient,
  tokenRequest,
  useFlowServer,
} from '../../../tests/support/oauth-flow.ts'
import { restartedGateway } from '../../../tests/support/restarted-gateway.ts'
import { AdminRefusal } from '../admin/admin-refusal.ts'
import type { Backup } from '../admin/backup.ts'
import { hasConsent } from '../authorization/consent.ts'
import { keys } from '../store/keys.ts'
import { runCommand } from './run-command.ts'

describe('backup and restore', () => {
  let server: TestAuthServer
  let dir: string
  useFlowServer({ ALLOWED_GITHUB_USERS: 'alice' }, (fixture) => {
    server = fixture.server
  })
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gateway-backups-'))
  })
  afterAll(() => rm(dir, { recursive: true, force: true }))
  const context = () => ({ config: server.config, store: server.store, clock: server.clock })

  const signIn = async (client: RegisteredClient, pkce: Pkce = newPkce()) => {
    const { code } = await obtainCode(server, client, pkce)
    const response = await exchangeCode(server, client, code, pkce)
    return (await response.json()) as Record<string, string>
  }

  const restartGateway = () => restartedGateway(server)

  it('brings back clients, consents, live and revoked tokens and signing keys after a flush', async () => {
    const client = await registerTestClient(server, { client_name: 'Backed up' })
    const live = await signIn(client)
    const revoked = await signIn(client)
    const revokedAccess = await signIn(client)
    await clientRequest(server, client, '/revoke', { token: revoked.refresh_token ?? '' })
    await clientRequest(server, client, '/revoke', { token: revokedAccess.access_token ?? '' })
    // A token issued before the backup and refreshed once: only the newest refresh token works.
    const rotated = (await (
      await tokenRequest(server, client, {
        grant_type: 'refresh_token',
        refresh_token: revokedAccess.refresh_token ?? '',
      })
    ).json()) as Record<string, string>

    const file = join(dir, 'flush.json')
    const made = await runCommand(context(), ['backup', file])
    expect(made.data).toMatchObject({ file, issuer: TEST_ISSUER })
    expect((made.data as { counts: Record<string, number> }).counts).toMatchObject({
      clients: 1,
      signing_keys: 1,
      consents: 1,
      refresh_families: 2,
      refresh_tokens: 2,
      // A rotated token names its family and is told by it: no marker per rotation any more.
      rotated_refresh_tokens: 0,
      revocations: 2,
      upstream_grants: 1,
    })

    await server.store.clear()
    // The gateway restarts on the empty store and makes itself a new signing key.
    const afterFlush = await restartGateway()
    expect((await afterFlush.verify(live.access_token ?? '')).status).toBe(401)

    const restored = await runCommand(context(), ['restore', file])
    expect(restored.data).toMatchObject({ signing_keys: 'merged', conflicts: [], expired: 0 })

    const gateway = await restartGateway()
    // An access token issued before the backup still verifies; revoked ones stay revoked.
    expect((await gateway.verify(live.access_token ?? '')).status).toBe(200)
    expect((await gateway.verify(revoked.access_token ?? '')).status).toBe(401)
    expect((await gateway.verify(revokedAccess.access_token ?? '')).status).toBe(401)
    // The refresh token refreshes (client, family, token and the user's GitHub grant are back).
    const refreshed = await gateway.refresh(client, live.refresh_token ?? '')
    expect(refreshed.status, await refreshed.clone().text()).toBe(200)
    expect((await gateway.refresh(client, rotated.refresh_token ?? '')).status).toBe(200)
    expect((await gateway.refresh(client, revoked.refresh_token ?? '')).status).toBe(400)
    // The remembered consent (a signed-in browser skips the consent page with it).
    expect(
      await hasConsent(server.store, {
        userId: String(ALICE.id),
        clientId: client.client_id,
        scopes: ['mcp'],
        resources: [`${TEST_ISSUER}/echo/mcp`],
        registeredRedirectUri: client.redirect_uris[0] ?? '',
      })
    ).toBe(true)
    const listed = await runCommand(context(), ['clients', 'list'])
    expect(listed.data).toEqual([expect.objectContaining({ client_id: client.client_id })])
  })

  it('is idempotent and never overwrites newer state', async () => {
    const client = await registerTestClient(server)
    await signIn(client)
    const file = join(dir, 'twice.json')
    await runCommand(context(), ['backup', file])
    const first = (await runCommand(context(), ['restore', file])).data as Record<string, unknown>
    expect(first).toMatchObject({ restored: 0, conflicts: [], signing_keys: 'unchanged' })
    expect(first.unchanged).toBeGreaterThan(0)

    const clientKey = keys.client(client.client_id)
    const before = await server.store.get(clientKey)
    const changed = JSON.stringify({ ...JSON.parse(before ?? '{}'), changed: true })
    await server.store.put(clientKey, changed)
    const second = (await runCommand(context(), ['restore', file])).data as Record<string, unknown>
    expect(second).toMatchObject({ restored: 0, conflicts: [clientKey] })
    expect(await server.store.get(clientKey)).toBe(changed)
  })

  it('gives each key the lifetime it had left and skips what expired since', async () => {
    const client = await registerTestClient(server)
    const tokens = await signIn(client)
    const file = join(dir, 'ttl.json')
    await runCommand(context(), ['backup', file])
    const backup = JSON.parse(await readFile(file, 'utf8')) as Backup
    const now = Math.floor(server.clock.now() / 1000)
    const familyEntry = backup.entries.find(
      (e) => e.key.startsWith('family:') && 'value' in e && e.value.includes(client.client_id)
    )
    if (!familyEntry || !('value' in familyEntry)) throw new Error('no family in the backup')
    expect(familyEntry.expires_at).toBeGreaterThan(now + server.config.ttl.refreshToken - 5)

    // Five minutes left for the family, and the refresh token expired: written back accordingly.
    const tweaked: Backup = {
      ...backup,
      entries: backup.entries.map((e) =>
        e === familyEntry
          ? { ...e, expires_at: now + 300 }
          : 'value' in e &&
              e.key.startsWith('refresh:') &&
              e.value === JSON.parse(familyEntry.value).familyId
            ? { ...e, expires_at: now - 1 }
            : e
      ),
    }
    const tweakedFile = join(dir, 'ttl-tweaked.json')
    await writeFile(tweakedFile, JSON.stringify(tweaked))
    await server.store.clear()
    const report = (await runCommand(context(), ['restore', tweakedFile])).data
    expect(report).toMatchObject({ expired: 1 })
    const ttl = await server.store.ttl(familyEntry.key)
    expect(ttl).toBeGreaterThan(290)
    expect(ttl).toBeLessThanOrEqual(300)
    const refresh = await tokenRequest(server, client, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token ?? '',
    })
    expect(refresh.status).toBe(400)
  })

  it('refuses a backup of another issuer unless forced', async () => {
    const file = join(dir, 'other-issuer.json')
    await runCommand(context(), ['backup', file])
    const other = { ...server.config, issuer: 'https://auth.elsewhere.example' }
    const elsewhere = { ...context(), config: other }
    await expect(runCommand(elsewhere, ['restore', file])).rejects.toThrow(AdminRefusal)
    await expect(runCommand(elsewhere, ['restore', file])).rejects.toThrow(/--force/)
    const forced = await runCommand(elsewhere, ['restore', '--force', file])
    expect(forced.data).toMatchObject({ conflicts: [] })
  })

  it('writes a private file that says it holds secrets, lists it and shows it without secrets', async () => {
    const client = await registerTestClient(server, { client_name: 'Listed client' })
    const tokens = await signIn(client)
    const backupDir = join(dir, 'listing')
    const made = (await runCommand(context(), ['backup', '--dir', backupDir])).data as {
      file: string
    }
    expect(made.file.startsWith(join(backupDir, 'gateway-'))).toBe(true)
    expect((await stat(made.file)).mode & 0o777).toBe(0o600)
    const text = await readFile(made.file, 'utf8')
    const backup = JSON.parse(text) as Backup
    expect(backup).toMatchObject({
      format: 'mcp-oauth-gateway-backup',
      issuer: TEST_ISSUER,
      key_prefix: expect.any(String),
    })
    expect(backup.note).toMatch(/holds secrets/)
    // Short-lived state is left out: sessions, codes, rate counters, pending authorizations.
    const prefixes = new Set(backup.entries.map((e) => e.key.split(':')[0]))
    for (const shortLived of ['session', 'code', 'rate', 'pending-authorization', 'device']) {
      expect(prefixes.has(shortLived)).toBe(false)
    }
    // No credential in clear, ever.
    expect(text).not.toContain(tokens.refresh_token)
    expect(text).not.toContain(client.client_secret)

    const listed = await runCommand(context(), ['backup', 'list', '--dir', backupDir])
    expect(listed.data).toEqual([
      expect.objectContaining({ file: made.file, mode: '600', header: expect.any(Object) }),
    ])
    const viewed = await runCommand(context(), ['backup', 'view', '--dir', backupDir])
    expect(viewed.text).toContain('Listed client')
    const families = (viewed.data as { refresh_families: { client_id: string }[] }).refresh_families
    expect(families.map((f) => f.client_id)).toContain(client.client_id)
    // Hashes of credentials: the refresh tokens' (in their keys) and the clients' secrets.
    const hashes = backup.entries.flatMap((e) => {
      if (e.key.startsWith('refresh:')) return [e.key.slice('refresh:'.length)]
      if (!e.key.startsWith('client:') || !('value' in e)) return []
      const record = JSON.parse(e.value) as Record<string, string>
      return [record.client_secret_hash ?? '', record.registration_access_token_hash ?? '']
    })
    expect(hashes.length).toBeGreaterThan(2)
    const shown = JSON.stringify(viewed.data)
    expect(shown).not.toContain('"d":')
    for (const hash of hashes.filter(Boolean)) expect(shown).not.toContain(hash)
  })

  it('refuses files that are not its backups', async () => {
    const file = join(dir, 'tampered.json')
    await runCommand(context(), ['backup', file])
    const backup = JSON.parse(await readFile(file, 'utf8')) as Backup
    const tampered = join(dir, 'tampered-2.json')
    await writeFile(
      tampered,
      JSON.stringify({ ...backup, entries: [{ key: 'rate:x', value: '1', expires_at: null }] })
    )
    await expect(runCommand(context(), ['restore', tampered])).rejects.toThrow(/unexpected key/)
    await writeFile(tampered, 'not json')
    await expect(runCommand(context(), ['restore', tampered])).rejects.toThrow(AdminRefusal)
    await expect(runCommand(context(), ['restore', join(dir, 'absent.json')])).rejects.toThrow(
      /no backup file/
    )
    await expect(runCommand(context(), ['backup', file])).rejects.toThrow(/exists already/)
  })

  it('refuses values the gateway could not read back, before writing anything', async () => {
    const file = join(dir, 'values.json')
    await runCommand(context(), ['backup', file])
    const backup = JSON.parse(await readFile(file, 'utf8')) as Backup
    const client = backup.entries.find((e) => e.key.startsWith('client:'))
    const ring = backup.entries.find((e) => e.key === 'signing-keys')
    if (!client || !('value' in client) || !ring || !('value' in ring)) {
      throw new Error('the backup has no client or signing keys')
    }
    const junkKey = JSON.stringify({
      current: { kty: 'EC', crv: 'P-256', kid: 'junk', alg: 'ES256' },
      previous: [],
    })
    const cases: [string, { key: string; value: string }, RegExp][] = [
      [
        'a client that is not JSON',
        { key: 'client:injected', value: 'not json at all' },
        /client:injected: not JSON/,
      ],
      [
        'a client without metadata',
        { key: client.key, value: JSON.stringify({ client_id: client.key.slice(7) }) },
        /client_id_issued_at/,
      ],
      [
        'a client stored under another id',
        { key: 'client:other', value: client.value },
        /not the id it is stored under/,
      ],
      [
        'a signing key that is no private key',
        { key: 'signing-keys', value: junkKey },
        /the current key: not a private key/,
      ],
      ['a refresh token naming nothing', { key: 'refresh:abc', value: '' }, /refresh:abc: empty/],
    ]
    for (const [name, entry, message] of cases) {
      const damaged = join(dir, `damaged-${cases.findIndex((c) => c[0] === name)}.json`)
      await writeFile(
        damaged,
        JSON.stringify({ ...backup, entries: [...backup.entries, { ...entry, expires_at: null }] })
      )
      await expect(runCommand(context(), ['restore', damaged]), name).rejects.toThrow(message)
    }
    // Nothing of a refused file was written.
    expect(await server.store.get('client:injected')).toBeNull()
  })

  it('leaves a record damaged in the store out of the backup, names it, and exits 1', async () => {
    const registered = await registerTestClient(server, { client_name: 'kept' })
    await server.store.put('client:damaged', 'not json', { ttlSeconds: 3600 })
    const file = join(dir, 'with-damage.json')
    const made = await runCommand(context(), ['backup', file])
    expect(made.exitCode).toBe(1)
    expect((made.data as { left_out: unknown }).left_out).toEqual([
      { key: 'client:damaged', problem: 'not JSON' },
    ])
    expect(made.text).toContain(
      'Left out 1 damaged record(s), changed outside the gateway: client:damaged (not JSON)'
    )
    // The file holds everything else, and restores.
    const backup = JSON.parse(await readFile(file, 'utf8')) as Backup
    expect(backup.entries.map((entry) => entry.key)).toContain(`client:${registered.client_id}`)
    expect(backup.entries.map((entry) => entry.key)).not.toContain('client:damaged')
    const restored = await runCommand(context(), ['restore', file])
    expect(restored.exitCode).toBeUndefined()
    await server.store.delete('client:damaged')
  })
})
