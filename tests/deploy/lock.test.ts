import { cp, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROOT, runNpm } from './image-replay.ts'

/**
 * The lock file is complete: `npm install` on a clean clone resolves exactly what it holds and
 * so never rewrites it (a rewritten lock is how `npm ci` starts failing on the next clone, in CI
 * or in an image build). Checked on the manifests alone, as a fresh clone has them.
 */
describe('package-lock.json', () => {
  let dir: string
  let committed: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gateway-lock-'))
    const manifest = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
      workspaces: string[]
    }
    const workspaces = manifest.workspaces.map((workspace) => `${workspace}/package.json`)
    for (const file of ['package.json', 'package-lock.json', ...workspaces]) {
      await mkdir(join(dir, file, '..'), { recursive: true })
      await cp(join(ROOT, file), join(dir, file))
    }
    committed = await readFile(join(ROOT, 'package-lock.json'), 'utf8')
  })
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('is what npm install resolves from the manifests (npm install does not rewrite it)', async () => {
    const started = Date.now()
    await runNpm(
      ['install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund'],
      dir
    )
    console.info(`npm install --package-lock-only took ${Date.now() - started} ms`)
    expect(await readFile(join(dir, 'package-lock.json'), 'utf8')).toBe(committed)
  }, 120_000)

  it('pins the just binary the recipes run through', async () => {
    const lock = JSON.parse(committed) as { packages: Record<string, { version?: string }> }
    const justPackages = Object.keys(lock.packages).filter((path) =>
      /node_modules\/rust-just-[a-z0-9-]+$/.test(path)
    )
    expect(justPackages).toContain('node_modules/rust-just-linux-x64')
  })
})
