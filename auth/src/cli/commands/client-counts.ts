import { type ClientCounts, countRegistrations } from '../../admin/client-counts.ts'
import type { Config } from '../../config.ts'
import type { CliContext, CommandResult } from '../cli-context.ts'
import { type Subcommand, type UsageLine, usageError } from '../command.ts'

const COUNT: UsageLine = {
  form: 'clients count',
  about: 'how many, used and never used, by client name',
}

/** `clients count`: how many registrations the store holds, used and never used, by name. */
export const clientsCount: Subcommand<CliContext> = { usage: COUNT, run: countClients }

async function countClients(context: CliContext, args: readonly string[]): Promise<CommandResult> {
  if (args.length > 0) throw usageError([COUNT])
  const counts = await countRegistrations(
    context.store,
    context.clock,
    registrationLifetimes(context.config)
  )
  const lines = [
    summary(counts),
    ...counts.by_name.map(
      (n) => `  ${String(n.total).padStart(6)}  ${n.client_name || '(no name)'}${usage(n)}`
    ),
  ]
  return { data: counts, text: lines.join('\n') }
}

export function registrationLifetimes(config: Config) {
  return { client: config.ttl.client, unusedClient: config.ttl.unusedClient }
}

/** "12 registrations: 3 used, 9 never used". */
export function summary(counts: Pick<ClientCounts, 'total' | 'used' | 'never_used'>): string {
  const total = `${counts.total} registration${counts.total === 1 ? '' : 's'}`
  if (counts.used === null) {
    return `${total} (use is not recorded: CLIENT_UNUSED_LIFETIME is not below CLIENT_LIFETIME)`
  }
  return `${total}: ${counts.used} used, ${counts.never_used} never used`
}

function usage(counts: { used: number | null; never_used: number | null }): string {
  return counts.used === null ? '' : `  (${counts.used} used, ${counts.never_used} never used)`
}
