import { AdminRefusal } from '../admin/admin-refusal.ts'
import { systemClock } from '../clock.ts'
import { ConfigError, loadConfig } from '../config.ts'
import { DamagedRecord } from '../store/store.ts'
import { type CommandResult, UsageError } from './cli-context.ts'
import {
  helpText,
  isCommand,
  isOfflineCommand,
  runCommand,
  runOfflineCommand,
  runWithoutStore,
  USAGE,
} from './run-command.ts'
import { StoreFailure, withStore } from './store-session.ts'

/**
 * The admin CLI (`npm run admin -- …`): works on the same Redis as the running gateway, with the
 * same configuration. `--json` prints machine-readable output. Exit status: 0 done (help asked
 * for included), 1 refused, nothing to act on, a check failed or the store could not serve it,
 * 2 not understood or misconfigured. A failure is one line on standard error, never a stack: a
 * stack means a bug.
 */
const args = process.argv.slice(2)
const json = args.includes('--json')
const words = args.filter((arg) => arg !== '--json')

/** What an operator can do about a record changed outside the gateway. */
const DAMAGED_RECORD_REMEDY =
  'it was changed outside the gateway; delete that key under REDIS_KEY_PREFIX (a client: clients delete <client-id>), then restore it from a backup if it is wanted'

const HELP_FLAGS: ReadonlySet<string> = new Set(['--help', '-h'])

/**
 * `help [command]`, or `--help`/`-h` anywhere: the command asked about (the first other word),
 * or undefined for the whole list. Null when no help is asked for.
 */
function helpAsked(given: readonly string[]): { readonly command: string | undefined } | null {
  if (given[0] === 'help') return { command: given[1] }
  if (!given.some((word) => HELP_FLAGS.has(word))) return null
  return { command: given.find((word) => !HELP_FLAGS.has(word)) }
}

async function run(name: string, rest: readonly string[]): Promise<CommandResult> {
  if (isOfflineCommand(name)) return runOfflineCommand(process.env, [name, ...rest])
  const config = loadConfig(process.env)
  const withoutStore = runWithoutStore(config, [name, ...rest])
  if (withoutStore) return withoutStore
  if (!config.redis)
    throw new UsageError('REDIS_URL is not set: the admin CLI works on the gateway’s Redis')
  return withStore(config.redis, (store) =>
    runCommand({ config, store, clock: systemClock }, [name, ...rest])
  )
}

try {
  const help = helpAsked(words)
  const [name, ...rest] = words
  if (help) {
    if (help.command !== undefined && !isCommand(help.command)) {
      throw new UsageError(`unknown command: ${help.command}\n${USAGE}`)
    }
    process.stdout.write(`${helpText(help.command)}\n`)
  } else {
    if (!name) throw new UsageError(USAGE)
    if (!isCommand(name)) throw new UsageError(`unknown command: ${name}\n${USAGE}`)
    const result = await run(name, rest)
    if (json) process.stdout.write(`${JSON.stringify(result.data, null, 2)}\n`)
    else (result.nothingToActOn ? process.stderr : process.stdout).write(`${result.text}\n`)
    process.exitCode = result.exitCode ?? 0
  }
} catch (error) {
  if (error instanceof AdminRefusal || error instanceof StoreFailure) {
    process.stderr.write(`${error.message}\n`)
    process.exitCode = 1
  } else if (error instanceof DamagedRecord) {
    process.stderr.write(`${error.message}: ${DAMAGED_RECORD_REMEDY}\n`)
    process.exitCode = 1
  } else if (error instanceof UsageError || error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`)
    process.exitCode = 2
  } else throw error
}
