import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT } from './image-replay.ts'

/**
 * The self-hosting guide stays true: the commands it tells people to type exist, and the settings
 * it names are the ones the gateway reads.
 */
const GUIDES = ['README.md', 'docs/operations.md']
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8')

function recipes(): string[] {
  const just = spawnSync(join(ROOT, 'node_modules/.bin/just'), ['--summary'], {
    cwd: ROOT,
    encoding: 'utf8',
  })
  expect(just.status, just.stderr).toBe(0)
  return just.stdout.trim().split(/\s+/)
}

describe('the self-hosting guide', () => {
  it('keeps the two Quick start commands', () => {
    const quickStart = /## Quick start[\s\S]*?```sh\n([\s\S]*?)```/.exec(read('README.md'))?.[1]
    const commands = quickStart?.split('\n').map((line) => line.replace(/\s+#.*$/, '').trim())
    expect(commands?.filter(Boolean)).toEqual(['npm ci && npm start', 'npm ci && npm test'])
  })

  it('starts the gateway, a service and the admin CLI with .env when there is one, as .env.example says', () => {
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> })
      .scripts
    for (const name of ['start', 'start:service', 'admin']) {
      expect(scripts[name], name).toMatch(/^node --env-file-if-exists=\.env \S+\/main\.ts$/)
    }
    expect(read('.env.example')).toContain('npm start')
  })

  it('names only recipes the justfile has, and has the ones the guide is built on', () => {
    const known = recipes()
    for (const recipe of [
      'generate-all-secrets',
      'up',
      'check-health',
      'mcp-client-token',
      'oauth-backup',
      'oauth-restore',
      'oauth-list-tokens',
    ])
      expect(known).toContain(recipe)
    for (const guide of GUIDES) {
      const named = [...read(guide).matchAll(/\bnpx just ([a-z][a-z0-9-]*)/g)].map((m) => m[1])
      const unknown = named.filter((name) => name && !known.includes(name))
      expect(unknown, `${guide} names recipes the justfile lacks`).toEqual([])
    }
  })

  it('names only settings that .env.example lists', () => {
    const example = read('.env.example')
    const listed = (variable: string) =>
      new RegExp(`^#? ?${variable.replace(/<[A-Z]+>/g, '[A-Z0-9_]+')}=`, 'm').test(example) ||
      example.includes(variable)
    for (const guide of GUIDES) {
      const named = [
        ...read(guide).matchAll(/`([A-Z][A-Z0-9]*(?:_[A-Z0-9<>]+)+)(?:=[^`]*)?`/g),
      ].map((m) => m[1] ?? '')
      const unknown = named.filter((name) => !listed(name))
      expect(unknown, `${guide} names settings .env.example lacks`).toEqual([])
    }
  })
})
