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
import { registrationUsed } from '../admin/client-counts.ts'
import type { ClientRecord } from '../clients/client-registry.ts'
import { runCommand } from './run-command.ts'

describe('admin CLI: how many registrations, used and never used', () => {
  let server: TestAuthServer
  useFlowServer({ ALLOWED_GITHUB_USERS: 'alice' }, (fixture) => {
    server = fixture.server
  })
  const context = () => ({ config: server.config, store: server.store, clock: server.clock })

  it('counts registrations by name, telling used ones (tokens issued) from the rest', async () => {
    const used = await registerTestClient(server, { client_name: 'Claude' })
    await registerTestClient(server, { client_name: 'Claude' })
    await registerTestClient(server, { client_name: 'Claude' })
    await registerTestClient(server, { client_name: 'Cursor' })
    await registerTestClient(server, { client_name: undefined })
    const { code, pkce } = await obtainCode(server, used)
    expect((await exchangeCode(server, used, code, pkce)).status).toBe(200)

    const counted = await runCommand(context(), ['clients', 'count'])
    expect(counted.data).toEqual({
      total: 5,
      used: 1,
      never_used: 4,
      by_name: [
        { client_name: 'Claude', total: 3, used: 1, never_used: 2 },
        { client_name: '', total: 1, used: 0, never_used: 1 },
        { client_name: 'Cursor', total: 1, used: 0, never_used: 1 },
      ],
    })
    expect(counted.text.split('\n')[0]).toBe('5 registrations: 1 used, 4 never used')
    expect(counted.text).toMatch(/3 {2}Claude {2}\(1 used, 2 never used\)/)

    const listed = await runCommand(context(), ['clients', 'list'])
    const entries = listed.data as { client_id: string; used: boolean }[]
    expect(entries.filter((c) => c.used).map((c) => c.client_id)).toEqual([used.client_id])
    expect(listed.text.split('\n').at(-1)).toBe('5 registrations: 1 used, 4 never used')
    const shown = await runCommand(context(), ['clients', 'show', used.client_id])
    expect(shown.data).toMatchObject({ client_id: used.client_id, used: true })
    await expect(runCommand(context(), ['clients', 'count', 'extra'])).rejects.toThrow(
      'clients count'
    )
  })

  it('prints the counts as JSON with --json', async () => {
    const child = spawn(process.execPath, ['auth/src/cli/main.ts', '--json', 'clients', 'count'], {
      cwd: new URL('../../../', import.meta.url).pathname,
      env: {
        PATH: process.env.PATH ?? '',
        REDIS_URL: inject('redisUrl'),
        REDIS_KEY_PREFIX: 'cli-count-test:',
      },
    })
    let stdout = ''
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk
    })
    const [exitCode] = (await once(child, 'exit')) as [number]
    expect(exitCode).toBe(0)
    expect(JSON.parse(stdout)).toEqual({ total: 0, used: 0, never_used: 0, by_name: [] })
  })
})

describe('whether a registration was used, from its lifetime', () => {
  const issuedAt = 1_800_000_000
  const client = { client_id_issued_at: issuedAt } as ClientRecord
  const lifetimes = { client: 7_776_000, unusedClient: 3600 }

  it('reads a first use from an expiry moved past the unused lifetime', () => {
    // Never used: expires CLIENT_UNUSED_LIFETIME after registration, whenever asked.
    expect(registrationUsed(client, 3600, issuedAt, lifetimes)).toBe(false)
    expect(registrationUsed(client, 1, issuedAt + 3599, lifetimes)).toBe(false)
    // Used a minute after registration: CLIENT_LIFETIME from then.
    expect(registrationUsed(client, 7_776_000, issuedAt + 60, lifetimes)).toBe(true)
    // Used, then idle for almost its whole lifetime: less left than an unused one ever had.
    expect(registrationUsed(client, 100, issuedAt + 7_775_960, lifetimes)).toBe(true)
  })

  it('reads use from the absence of an expiry when used registrations never expire', () => {
    const forever = { client: 0, unusedClient: 3600 }
    expect(registrationUsed(client, null, issuedAt + 10, forever)).toBe(true)
    expect(registrationUsed(client, 3590, issuedAt + 10, forever)).toBe(false)
  })

  it('says it cannot tell when an unused registration lives as long as a used one', () => {
    expect(registrationUsed(client, 3600, issuedAt, { client: 3600, unusedClient: 0 })).toBeNull()
    expect(
      registrationUsed(client, 3600, issuedAt, { client: 3600, unusedClient: 7200 })
    ).toBeNull()
    expect(registrationUsed(client, null, issuedAt, { client: 0, unusedClient: 0 })).toBeNull()
  })
})
