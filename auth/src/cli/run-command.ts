import { type CliContext, type CommandResult, UsageError } from './cli-context.ts'
import { clientsCommand } from './commands/clients.ts'
import { consentsCommand } from './commands/consents.ts'
import { keysCommand } from './commands/keys.ts'

const commands: Record<
  string,
  (context: CliContext, args: readonly string[]) => Promise<CommandResult>
> = {
  clients: clientsCommand,
  consents: consentsCommand,
  keys: keysCommand,
}

export const USAGE = `usage: npm run admin -- [--json] <command>
  clients list                         registered clients
  clients delete <client-id>           remove a registration
  consents list <user-id>              clients a user consented to
  consents revoke <user-id> <client-id>  withdraw consent and revoke the tokens it led to
  keys rotate                          new signing key (old ones stay published)`

/** Runs one admin command; throws `UsageError` for words it does not understand. */
export function runCommand(context: CliContext, args: readonly string[]): Promise<CommandResult> {
  const [name, ...rest] = args
  const command = name ? commands[name] : undefined
  if (!command) throw new UsageError(USAGE)
  return command(context, rest)
}
