import { type ChildProcess, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { rememberConsent } from '../../auth/src/authorization/consent.ts'
import { systemClock } from '../../auth/src/clock.ts'
import { createRedisStore } from '../../auth/src/store/redis-store.ts'
import type { GatewayProcess } from '../support/gateway-process.ts'
import { useGatewayWithGitHub } from '../support/gateway-with-github.ts'
import { HeadlessBrowser } from '../support/headless-browser.ts'

/**
 * The operator's recipes, run as an operator runs them (`npx just <recipe>`), against a real
 * gateway process and Redis. Every recipe that needs no Docker is run here, except `test` (this
 * suite is part of it) and the development ones (`start`, `bench`...), which other suites cover.
 */
const ROOT = new URL('../../', import.meta.url).pathname
const RECIPES = [
  'generate-all-secrets',
  'generate-rsa-keys',
  'generate-redis-password',
  'up',
  'down',
  'rebuild',
  'logs',
  'check-health',
  'mcp-client-token',
  'oauth-list-registrations',
  'oauth-show-registration',
  'oauth-delete-registration',
  'oauth-count-registrations',
  'oauth-list-consents',
  'oauth-revoke-consent',
  'oauth-list-tokens',
  'oauth-revoke-tokens',
  'oauth-purge-expired',
  'audit',
  'oauth-backup',
  'oauth-backup-list',
  'oauth-backup-view',
  'oauth-restore',
  'rotate-signing-key',
  'test',
]
/** A machine under load runs each recipe (npx, npm, node) in seconds, not milliseconds. */
const SLOW = 180_000

interface Run {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

describe('just recipes', () => {
  const prefix = `ops-${randomUUID()}:`
  const redisEnv = () => ({ REDIS_URL: inject('redisUrl'), REDIS_KEY_PREFIX: prefix })
  let gateway: GatewayProcess
  let dir: string
  let emptyDotenv: string
  useGatewayWithGitHub(
    (fixture) => {
      gateway = fixture.gateway
    },
    { ALLOWED_GITHUB_USERS: 'octocat', ...redisEnv() }
  )
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gateway-recipes-'))
    // The checkout's own .env (if any) must not leak into the recipes under test: just reads this
    // empty file instead, and the recipes run the admin CLI with just's environment alone.
    emptyDotenv = join(dir, 'empty.env')
    await writeFile(emptyDotenv, '')
  })
  afterAll(() => rm(dir, { recursive: true, force: true }))

  const start = (args: string[], env: Record<string, string> = {}): ChildProcess =>
    spawn('npx', ['just', '--dotenv-path', emptyDotenv, ...args], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? dir,
        AUTH_ISSUER: gateway.url,
        ...redisEnv(),
        ...env,
      },
    })
  const just = async (args: string[], env: Record<string, string> = {}): Promise<Run> => {
    const child = start(args, env)
    let stdout = ''
    let stderr = ''
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk
    })
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk
    })
    const [code] = (await once(child, 'exit')) as [number]
    return { code, stdout, stderr }
  }
  const json = <T>(run: Run): T => {
    expect(run.code, run.stderr).toBe(0)
    return JSON.parse(run.stdout) as T
  }
  const verify = (token: string) =>
    fetch(`${gateway.url}/verify`, {
      headers: {
        Authorization: `Bearer ${token}`,
        'X-Forwarded-Proto': 'http',
        'X-Forwarded-Host': new URL(gateway.url).host,
        'X-Forwarded-Uri': '/echo/mcp',
        'X-Forwarded-Method': 'POST',
      },
    })
  const refresh = (clientId: string, refreshToken: string) =>
    fetch(`${gateway.url}/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: refreshToken,
        client_id: clientId,
      }),
    })

  it('lists every recipe', async () => {
    const listed = await just(['--list'])
    expect(listed.code, listed.stderr).toBe(0)
    for (const recipe of RECIPES)
      expect(listed.stdout).toMatch(new RegExp(`^\\s+${recipe}\\b`, 'm'))
  })

  it('generates the secrets into .env, each once, never overwriting one', {
    timeout: SLOW,
  }, async () => {
    const envFile = join(dir, '.env')
    const password = await just(['generate-redis-password', '--file', envFile, '--json'])
    expect(json(password)).toMatchObject({ created: true, written: ['REDIS_PASSWORD'] })
    const rsa = await just(['generate-rsa-keys', '--file', envFile, '--json'])
    expect(json(rsa)).toMatchObject({ written: ['JWT_PRIVATE_KEY_B64'] })
    const all = await just(['generate-all-secrets', '--file', envFile])
    expect(all.code, all.stderr).toBe(0)
    expect(all.stdout).toContain('kept REDIS_PASSWORD')
    expect(all.stdout).toContain('kept JWT_PRIVATE_KEY_B64')
    expect(all.stdout).toMatch(/wrote BRIDGE_SHARED_SECRET/)
    expect((await stat(envFile)).mode & 0o777).toBe(0o600)
  })

  let tokens: { access_token: string; refresh_token: string; client_id: string }

  it('mcp-client-token gets a token through the device flow', { timeout: SLOW }, async () => {
    const resource = `${gateway.url}/echo/mcp`
    const cli = start(['mcp-client-token', gateway.url, resource])
    let stdout = ''
    let stderr = ''
    cli.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk
    })
    const link = new Promise<string>((resolve) => {
      cli.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk
        const match = /\(or open (\S+)\)/.exec(stderr)
        if (match?.[1]) resolve(match[1])
      })
    })
    const exited = once(cli, 'exit')
    const browser = new HeadlessBrowser()
    const codePage = await browser.open(await link, 'about:')
    const userCode = /value="([A-Z]{4}-[A-Z]{4})"/.exec(codePage.body)?.[1] ?? ''
    const consent = await browser.submitForm(codePage, { user_code: userCode }, 'about:')
    expect((await browser.submitConsent(consent, 'approve', 'about:')).body).toContain(
      'Device connected'
    )
    const [code] = (await exited) as [number]
    expect(code, stderr).toBe(0)
    tokens = JSON.parse(stdout) as typeof tokens
    expect(tokens.refresh_token).toBeTruthy()
  })

  it('lists and shows the registration and lists its tokens', { timeout: SLOW }, async () => {
    const clients = json<{ client_id: string }[]>(
      await just(['oauth-list-registrations', '--json'])
    )
    expect(clients.map((c) => c.client_id)).toEqual([tokens.client_id])
    const shown = json<Record<string, unknown>>(
      await just(['oauth-show-registration', tokens.client_id, '--json'])
    )
    expect(shown).toMatchObject({ client_id: tokens.client_id, confidential: false })
    expect(JSON.stringify(shown)).not.toMatch(/hash/)
    const families = json<{ client_id: string; user_login: string }[]>(
      await just(['oauth-list-tokens', '--user', 'octocat', '--json'])
    )
    expect(families).toEqual([
      expect.objectContaining({ client_id: tokens.client_id, user_login: 'octocat' }),
    ])
    const purged = json(await just(['oauth-purge-expired', '--json']))
    expect(purged).toMatchObject({ family_index_entries: 0, consent_index_entries: 0 })
    // The running gateway kept its audit events in Redis; the recipe reads them.
    const audited = json<Record<string, unknown>[]>(
      await just(['audit', '--user', 'octocat', '--event', 'token.', '--json'])
    )
    expect(audited).toContainEqual(
      expect.objectContaining({
        event: 'token.issued',
        login: 'octocat',
        client_id: tokens.client_id,
        grant_type: 'device_code',
      })
    )
  })

  it('check-health passes against the gateway and fails against nothing', {
    timeout: SLOW,
  }, async () => {
    const healthy = await just(['check-health'])
    expect(healthy.code, healthy.stdout + healthy.stderr).toBe(0)
    expect(healthy.stdout).toMatch(/all \d+ checks passed/)
    expect(healthy.stdout).toContain('echo: /health')
    // Port 1 is privileged: nothing any test starts can be listening there.
    const nothing = 'http://127.0.0.1:1'
    const down = await just(['check-health', '--url', nothing, '--json'])
    expect(down.code).toBe(1)
    expect(JSON.parse(down.stdout)).toMatchObject({ healthy: false })
  })

  it('backs up, lists, shows and restores: after a flush the tokens work again', {
    timeout: SLOW,
  }, async () => {
    const file = join(dir, 'backups', 'before-flush.json')
    const made = await just(['oauth-backup', file])
    expect(made.code, made.stderr).toBe(0)
    expect(made.stdout).toMatch(/holds secrets/)
    expect((await stat(file)).mode & 0o777).toBe(0o600)
    const listed = json<{ file: string }[]>(
      await just(['oauth-backup-list', '--dir', join(dir, 'backups'), '--json'])
    )
    expect(listed.map((l) => l.file)).toEqual([file])
    const viewed = await just(['oauth-backup-view', file])
    expect(viewed.stdout).toContain(tokens.client_id)
    expect(await readFile(file, 'utf8')).not.toContain(tokens.refresh_token)

    const store = createRedisStore(inject('redisUrl'), prefix)
    const everything: string[] = []
    for await (const key of store.scan('')) everything.push(key)
    await store.delete(...everything)
    await store.close()
    // The client is gone with everything else.
    expect((await refresh(tokens.client_id, tokens.refresh_token)).status).toBe(401)

    const restored = json<Record<string, unknown>>(await just(['oauth-restore', file, '--json']))
    expect(restored).toMatchObject({ signing_keys: 'restored', conflicts: [] })
    expect((await verify(tokens.access_token)).status).toBe(200)
    const refreshed = await refresh(tokens.client_id, tokens.refresh_token)
    expect(refreshed.status, await refreshed.clone().text()).toBe(200)
    const next = (await refreshed.json()) as { access_token: string }
    tokens = { ...tokens, access_token: next.access_token }
  })

  it("oauth-revoke-tokens makes /verify refuse the user's tokens", { timeout: SLOW }, async () => {
    expect((await verify(tokens.access_token)).status).toBe(200)
    const revoked = await just(['oauth-revoke-tokens', '--user', 'octocat'])
    expect(revoked.code, revoked.stderr).toBe(0)
    expect(revoked.stdout).toContain('revoked 1 token family')
    // /verify believes its last "not revoked" answer for up to a second.
    await expect
      .poll(async () => (await verify(tokens.access_token)).status, { timeout: 5_000 })
      .toBe(401)
  })

  it('counts the registrations, and lists and withdraws a consent', { timeout: SLOW }, async () => {
    const counted = json<{ total: number; used: number }>(
      await just(['oauth-count-registrations', '--json'])
    )
    expect(counted).toMatchObject({ total: 1, used: 1 })
    // A consent as the consent page remembers it (the device flow above asks every time).
    const store = createRedisStore(inject('redisUrl'), prefix)
    const userId = 'consent-user'
    try {
      await rememberConsent(
        store,
        systemClock,
        {
          userId,
          clientId: tokens.client_id,
          scopes: ['mcp'],
          resources: [`${gateway.url}/echo/mcp`],
          redirectUris: ['http://127.0.0.1:9/callback'],
        },
        3600
      )
    } finally {
      await store.close()
    }
    const listed = json<{ clients: string[] }>(
      await just(['oauth-list-consents', userId, '--json'])
    )
    expect(listed.clients).toEqual([tokens.client_id])
    const withdrawn = json(await just(['oauth-revoke-consent', userId, tokens.client_id, '--json']))
    expect(withdrawn).toMatchObject({ withdrawn: true })
    const after = json<{ clients: string[] }>(await just(['oauth-list-consents', userId, '--json']))
    expect(after.clients).toEqual([])
    const again = await just(['oauth-revoke-consent', userId, tokens.client_id])
    expect(again.code).toBe(1)
  })

  it('rotates the signing key and deletes the registration', { timeout: SLOW }, async () => {
    const rotated = json<{ kid: string }>(await just(['rotate-signing-key', '--json']))
    expect(rotated.kid).toMatch(/^[\w-]{43}$/)
    const deleted = json(await just(['oauth-delete-registration', tokens.client_id, '--json']))
    expect(deleted).toMatchObject({ client_id: tokens.client_id, deleted: true })
    const gone = await just(['oauth-show-registration', tokens.client_id])
    expect(gone.code).toBe(1)
  })
})
