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
}

/** The command line was not understood; the message says how to use it. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}
