import { type ParseArgsOptionsConfig, parseArgs } from 'node:util'
import type { Clock } from '../clock.ts'
import type { Config } from '../config.ts'
import type { Store } from '../store/store.ts'

/** What every admin command works with: the same configuration and store as the server. */
export interface CliContext {
  readonly config: Config
  readonly store: Store
  readonly clock: Clock
}

/** A command's answer: `data` for `--json`, `text` for people. */
export interface CommandResult {
  readonly data: unknown
  readonly text: string
  /** Non-zero when the command ran but found something wrong (a failed health check). */
  readonly exitCode?: number
}

/** The command line was not understood; the message says how to use it. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

/** Parses a command's options (`--name value`, `--flag`) and positional words, strictly. */
export function parseCommandLine<T extends ParseArgsOptionsConfig>(
  args: readonly string[],
  options: T,
  usage: string
) {
  try {
    return parseArgs({ args: [...args], options, allowPositionals: true, strict: true })
  } catch {
    throw new UsageError(usage)
  }
}
