import {
  type CliContext,
  type CommandContext,
  type CommandResult,
  cliAuditTrail,
  UsageError,
} from './cli-context.ts'
import { type Command, type UsageLine, usageText } from './command.ts'
import { auditCommand, auditUsage } from './commands/audit.ts'
import {
  backupCommand,
  backupFilesCommand,
  backupUsage,
  readsBackupFilesOnly,
} from './commands/backup.ts'
import { clientsCommand } from './commands/clients.ts'
import { consentsCommand } from './commands/consents.ts'
import { healthCommand, healthUsage } from './commands/health.ts'
import { keysCommand } from './commands/keys.ts'
import { purgeExpiredCommand, purgeExpiredUsage } from './commands/purge-expired.ts'
import { restoreCommand, restoreUsage } from './commands/restore.ts'
import { secretsCommand, secretsUsage } from './commands/secrets.ts'
import { tokensCommand, tokensUsage } from './commands/tokens.ts'

type Environment = Readonly<Record<string, string | undefined>>

/** Commands that need no Redis: they run before a deployment exists, or look at it from outside. */
export const offlineCommands: Readonly<Record<string, Command<Environment>>> = {
  secrets: { usage: secretsUsage, run: (_env, args) => secretsCommand(args) },
  health: { usage: healthUsage, run: healthCommand },
}

/** Commands that work on the gateway's Redis. */
const storeCommands: Readonly<Record<string, Command<CommandContext>>> = {
  clients: clientsCommand,
  consents: consentsCommand,
  tokens: { usage: tokensUsage, run: tokensCommand },
  'purge-expired': { usage: purgeExpiredUsage, run: purgeExpiredCommand },
  backup: { usage: backupUsage, run: backupCommand },
  restore: { usage: restoreUsage, run: restoreCommand },
  keys: keysCommand,
  audit: { usage: auditUsage, run: auditCommand },
}

const HELP: UsageLine = {
  form: 'help [command]',
  about: 'this list, or one command’s forms (also --help, -h)',
}

/** Every command's forms, in the order above. */
export const USAGE = usageText(
  [...Object.values(offlineCommands), ...Object.values(storeCommands)]
    .flatMap((command) => command.usage)
    .concat(HELP),
  'usage: npm run admin -- [--json] <command>'
)

export function isCommand(name: string): boolean {
  return usageOf(name) !== undefined
}

export function isOfflineCommand(name: string): boolean {
  return Object.hasOwn(offlineCommands, name)
}

/** The forms of the command `name`; undefined when there is no such command. */
function usageOf(name: string): readonly UsageLine[] | undefined {
  if (Object.hasOwn(storeCommands, name)) return storeCommands[name]?.usage
  return isOfflineCommand(name) ? offlineCommands[name]?.usage : undefined
}

/** What help prints: the forms of the command named, or of every command when none is. */
export function helpText(name: string | undefined): string {
  const usage = name === undefined ? undefined : usageOf(name)
  return usage ? usageText(usage) : USAGE
}

/** Runs one command that needs no store. */
export function runOfflineCommand(
  env: Environment,
  args: readonly string[]
): Promise<CommandResult> {
  const [name, ...rest] = args
  const command = name && isOfflineCommand(name) ? offlineCommands[name] : undefined
  if (!command) throw new UsageError(USAGE)
  return command.run(env, rest)
}

/** Runs one admin command on the store; throws `UsageError` for words it does not understand. */
export function runCommand(context: CliContext, args: readonly string[]): Promise<CommandResult> {
  const [name, ...rest] = args
  const command = name && Object.hasOwn(storeCommands, name) ? storeCommands[name] : undefined
  if (!command) throw new UsageError(USAGE)
  return command.run({ ...context, audit: context.audit ?? cliAuditTrail(context) }, rest)
}

/**
 * A store command in a form that reads only files (`backup list`, `backup view`), run without
 * the store, so it answers while Redis is away; undefined for any other command line.
 */
export function runWithoutStore(
  config: CliContext['config'],
  args: readonly string[]
): Promise<CommandResult> | undefined {
  const [name, ...rest] = args
  return name === 'backup' && readsBackupFilesOnly(rest)
    ? backupFilesCommand(config, rest)
    : undefined
}
