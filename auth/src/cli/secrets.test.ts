import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { AdminRefusal } from '../admin/admin-refusal.ts'
import { systemClock } from '../clock.ts'
import { loadConfig } from '../config.ts'
import { loadSigningKeys } from '../keys/signing-keys.ts'
import { createMemoryStore } from '../store/memory-store.ts'
import { secretsCommand as secrets } from './commands/secrets.ts'

const EXAMPLE = new URL('../../../.env.example', import.meta.url).pathname

/** Every `NAME=value` line of an env file (comments left out). */
function assignments(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split('\n')
      .filter((line) => /^[A-Z_0-9]+=/.test(line))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)])
  )
}

describe('secrets (generate-all-secrets)', () => {
  let dir: string
  let envFile: string
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gateway-secrets-'))
    envFile = join(dir, '.env')
  })
  afterEach(() => rm(dir, { recursive: true, force: true }))

  it('creates .env from the example with every generated secret, readable by its owner only', async () => {
    const result = await secrets(['--file', envFile, '--example', EXAMPLE])
    expect(result.data).toMatchObject({
      created: true,
      written: [
        'REDIS_PASSWORD',
        'JWT_PRIVATE_KEY_B64',
        'BRIDGE_SHARED_SECRET',
        'INTERNAL_API_SECRET',
        'METRICS_TOKEN',
      ],
      kept: [],
    })
    expect((result.data as { to_fill_by_hand: string[] }).to_fill_by_hand).toContain(
      'GITHUB_CLIENT_ID'
    )
    expect((await stat(envFile)).mode & 0o777).toBe(0o600)
    const text = await readFile(envFile, 'utf8')
    // The example's settings and comments are all still there.
    expect(text).toContain((await readFile(EXAMPLE, 'utf8')).split('\n')[0])
    const values = assignments(text)
    expect(values.REDIS_PASSWORD).toMatch(/^[0-9a-f]{64}$/)
    expect(values.BRIDGE_SHARED_SECRET).toMatch(/^[0-9a-f]{64}$/)
    expect(values.INTERNAL_API_SECRET).toMatch(/^[0-9a-f]{64}$/)
    expect(values.METRICS_TOKEN).toMatch(/^[0-9a-f]{64}$/)
    expect(loadConfig({ METRICS_TOKEN: values.METRICS_TOKEN }).metricsToken).toBe(
      values.METRICS_TOKEN
    )
    // The generated key is one the gateway accepts as its pinned (EC P-256) key.
    const config = loadConfig({ JWT_PRIVATE_KEY_B64: values.JWT_PRIVATE_KEY_B64 })
    const store = createMemoryStore(systemClock)
    const signingKeys = await loadSigningKeys(store, config.pinnedSigningKey)
    await store.close()
    expect(signingKeys.current().alg).toBe('ES256')
    expect(signingKeys.jwks().keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256' })
  })

  it('says so when no example was found: the file holds the generated secrets alone', async () => {
    const missing = join(dir, 'no.env.example')
    const result = await secrets(['--file', envFile, '--example', missing])
    expect(result.data).toMatchObject({ created: true, from_example: false })
    expect(result.text.split('\n')[0]).toBe(
      `created ${envFile} with the generated secrets only: no example at ${missing} to copy ` +
        'its settings and comments from (--example names one)'
    )
    expect(Object.keys(assignments(await readFile(envFile, 'utf8')))).toHaveLength(5)
    expect((await stat(envFile)).mode & 0o777).toBe(0o600)
    const copied = await secrets(['--file', join(dir, 'copied.env'), '--example', EXAMPLE])
    expect(copied.data).toMatchObject({ created: true, from_example: true })
    expect(copied.text.split('\n')[0]).toBe(`created ${join(dir, 'copied.env')} from ${EXAMPLE}`)
    await expect(secrets(['--file', join(dir, 'absent', '.env')])).rejects.toThrow(
      new AdminRefusal(`cannot create ${join(dir, 'absent', '.env')}: its directory does not exist`)
    )
  })

  it('never overwrites a value, fills empty ones in place and generates only what is named', async () => {
    await writeFile(envFile, 'REDIS_PASSWORD=keep-me\nBRIDGE_SHARED_SECRET=\n# a comment\n')
    const named = await secrets(['BRIDGE_SHARED_SECRET', 'REDIS_PASSWORD', '--file', envFile])
    expect(named.data).toMatchObject({
      created: false,
      written: ['BRIDGE_SHARED_SECRET'],
      kept: ['REDIS_PASSWORD'],
    })
    const lines = (await readFile(envFile, 'utf8')).split('\n')
    expect(lines[0]).toBe('REDIS_PASSWORD=keep-me')
    expect(lines[1]).toMatch(/^BRIDGE_SHARED_SECRET=[0-9a-f]{64}$/)
    expect(lines[2]).toBe('# a comment')

    const all = await secrets(['--file', envFile])
    expect(all.data).toMatchObject({
      written: ['JWT_PRIVATE_KEY_B64', 'INTERNAL_API_SECRET', 'METRICS_TOKEN'],
    })
    const before = await readFile(envFile, 'utf8')
    const again = await secrets(['--file', envFile])
    expect(again.data).toMatchObject({
      written: [],
      kept: expect.arrayContaining(['REDIS_PASSWORD']),
    })
    expect(await readFile(envFile, 'utf8')).toBe(before)
    await expect(secrets(['GITHUB_CLIENT_SECRET', '--file', envFile])).rejects.toThrow(
      /cannot generate GITHUB_CLIENT_SECRET/
    )
  })

  it('keeps a value the start would refuse, but says why and exits 1', async () => {
    await writeFile(
      envFile,
      [
        'METRICS_TOKEN=short',
        'REDIS_PASSWORD=p@ss:word',
        'BRIDGE_SHARED_SECRET=has spaces in it but is long enough to pass the length',
        'JWT_PRIVATE_KEY_B64=bm90IGEga2V5',
        // Node reads up to the # (`short`), compose the whole: told to quote it.
        `INTERNAL_API_SECRET=short#${'d'.repeat(40)}`,
        '',
      ].join('\n')
    )
    const before = await readFile(envFile, 'utf8')
    const result = await secrets(['--file', envFile])
    expect(result.exitCode).toBe(1)
    const refused = (result.data as { kept_refused: { name: string }[] }).kept_refused
    expect(refused.map(({ name }) => name)).toEqual([
      'REDIS_PASSWORD',
      'JWT_PRIVATE_KEY_B64',
      'BRIDGE_SHARED_SECRET',
      'INTERNAL_API_SECRET',
      'METRICS_TOKEN',
    ])
    expect(result.text).toContain(
      `METRICS_TOKEN is refused at start: at least 32 characters (just generate-all-secrets); empty it in ${envFile}`
    )
    expect(result.text).toContain(
      'INTERNAL_API_SECRET is refused at start: an unquoted # inside the value: Node reads up to it, compose the whole; quote the value'
    )
    expect(await readFile(envFile, 'utf8')).toBe(before)

    // Values the start takes pass without a word, read as Node and compose read them: inside
    // their quotes, before a comment.
    await writeFile(
      envFile,
      [
        `METRICS_TOKEN=${'b'.repeat(40)} # scraped by Prometheus`,
        `INTERNAL_API_SECRET="${'c'.repeat(40)}" # the internal API`,
        "REDIS_PASSWORD='abcdef'",
        '',
      ].join('\n')
    )
    const fine = await secrets([
      'METRICS_TOKEN',
      'INTERNAL_API_SECRET',
      'REDIS_PASSWORD',
      '--file',
      envFile,
    ])
    expect(fine.exitCode).toBeUndefined()
    expect(fine.data).toMatchObject({ kept_refused: [] })
    expect((fine.data as { kept: string[] }).kept).toHaveLength(3)
  })
})
