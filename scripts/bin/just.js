#!/usr/bin/env node
// Runs the `just` binary that npm installed for this platform. The registry this project locks
// against carries the binary for linux-x64 only, so the launcher depends on that one package
// directly instead of on a wrapper whose other-platform packages could never be locked, which
// kept `npm ci` from working. Elsewhere it says how to get `just` instead of failing obscurely.
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const extension = process.platform === 'win32' ? '.exe' : ''
const binaryPackage = `rust-just-${process.platform}-${process.arch}`

let binary
try {
  binary = require.resolve(`${binaryPackage}/bin/just${extension}`)
} catch {
  process.stderr.write(
    `just: no ${binaryPackage} package is installed (only linux-x64 is locked). ` +
      "Install just from your system's package manager, or run the npm scripts the recipes call.\n"
  )
  process.exit(127)
}

const result = spawnSync(binary, process.argv.slice(2), { stdio: 'inherit' })
if (result.error) throw result.error
process.exit(result.status ?? (result.signal ? 128 : 1))
