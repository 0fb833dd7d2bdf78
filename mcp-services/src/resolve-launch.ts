import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ServiceLaunch } from './catalog.ts'

/** The script Node runs for a service; resolved once at start, so a missing package fails boot. */
export interface ResolvedLaunch {
  readonly command: string
  readonly script: string
}

const require = createRequire(import.meta.url)
const here = dirname(fileURLToPath(import.meta.url))

/**
 * Finds the installed file behind a catalog launch: a package's `bin` entry through its
 * package.json (resolved from this package's node_modules), or a module of this package. The
 * command is the Node running the bridge, so no shell, no PATH lookup and no download.
 */
export function resolveLaunch(launch: ServiceLaunch): ResolvedLaunch {
  if (launch.kind === 'module') {
    return { command: process.execPath, script: resolve(here, launch.path) }
  }
  const manifestPath = require.resolve(`${launch.package}/package.json`)
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
    bin?: string | Record<string, string>
  }
  const bin = typeof manifest.bin === 'string' ? manifest.bin : manifest.bin?.[launch.bin]
  if (!bin) throw new Error(`package ${launch.package} has no bin named ${launch.bin}`)
  return { command: process.execPath, script: resolve(dirname(manifestPath), bin) }
}
