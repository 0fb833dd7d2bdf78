import {
  type CliContext,
  type CommandContext,
  type CommandResult,
  cliAuditTrail,
  UsageError,
} from './cli-context.ts'
import { auditCommand } from './commands/audit.ts'
import { backupCommand } from './commands/backup.ts'
import { clientShowCommand } from './commands/client-show.ts'
import { clientsCommand } from './commands/clients.ts'
import { consentsCommand } from './commands/consents.ts'
import { healthCommand } from './commands/health.ts'
import { keysCommand } from './commands/keys.ts'
import { purgeExpiredCommand } from './commands/purge-expired.ts'
import { restoreCommand } from './commands/restore.ts'
import { secretsCommand } from './commands/secrets.ts'
import { tokensCommand } from './commands/tokens.ts'

type StoreCommand = (context: CommandContext, args: readonly string[]) => Promise<CommandResult>
type Environment = Readonly<Record<string, string | undefined>>

/** Commands that work on the gateway's Redis. */
const commands: Record<string, StoreCommand> = {
  clients: (context, args) =>
    args[0] === 'show' ? clientShowCommand(context, args.slice(1)) : clientsCommand(context, args),
  consents: consentsCommand,
  audit: auditCommand,
  keys: keysCommand,
  tokens: tokensCommand,
  'purge-expired': purgeExpiredCommand,
  backup: backupCommand,
  restore: restoreCommand,
}

/** Commands that need no Redis: they run before a deployment exists, or look at it from outside. */
export const offlineCommands: Record<
  string,
  (env: Environment, args: readonly string[]) => Promise<CommandResult>
> = {
  secrets: (_env, args) => secretsCommand(args),
  health: healthCommand,
}

export const USAGE = `usage: npm run admin -- [--json] <command>
  secrets [NAME...] [--file .env]      write missing generated secrets into .env (never overwrites)
  health [--url URL]                   check the gateway, its metadata, keys and services (exit 1 on failure)
  clients list                         registered clients
  clients count                        how many, used and never used, by client name
  clients show <client-id>             one registration, without secrets
  clients delete <client-id>           remove a registration
  consents list <user-id>              clients a user consented to
  consents revoke <user-id> <client-id>  withdraw consent and revoke the tokens it led to
  tokens list [--user U] [--client C] [--family F]   live token families (never token values)
  tokens revoke --user U | --client C | --family F   revoke them; /verify refuses their access tokens
  purge-expired                        drop index entries pointing at expired state, with counts
  backup [file] [--dir D]              write a backup (default backups/gateway-<time>.json, mode 0600)
  backup list [--dir D]                the backups in backups/
  backup view [file] [--dir D]         what a backup holds (names and ids, no secrets)
  restore [file] [--force] [--dir D]   write back what is absent (default: the newest backup)
  keys rotate                          new signing key (old ones stay published)
  audit [--user U] [--client C] [--event E] [--since 2026-11-30|12h] [--limit 50]
                                       the newest audit events kept in the store, oldest first`

export function isCommand(name: string): boolean {
  return Object.hasOwn(commands, name) || Object.hasOwn(offlineCommands, name)
}

/** Runs one admin command on the store; throws `UsageError` for words it does not understand. */
export function runCommand(context: CliContext, args: readonly string[]): Promise<CommandResult> {
  const [name, ...rest] = args
  const command = name && Object.hasOwn(commands, name) ? commands[name] : undefined
  if (!command) throw new UsageError(USAGE)
  return command({ ...context, audit: context.audit ?? cliAuditTrail(context) }, rest)
}
