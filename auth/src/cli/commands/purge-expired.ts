import { purgeExpired } from '../../admin/purge-expired.ts'
import type { CommandContext, CommandResult } from '../cli-context.ts'
import { type UsageLine, usageError } from '../command.ts'

export const purgeExpiredUsage: readonly UsageLine[] = [
  { form: 'purge-expired', about: 'drop index entries pointing at expired state, with counts' },
]

/** `purge-expired`: drops index entries that point at expired records, and says what went. */
export async function purgeExpiredCommand(
  context: CommandContext,
  args: readonly string[]
): Promise<CommandResult> {
  if (args.length > 0) throw usageError(purgeExpiredUsage)
  const report = await purgeExpired(context.store)
  const total = report.familyIndexEntries + report.consentIndexEntries
  await context.audit.record({ event: 'admin.expired_purged', removed: total })
  return {
    data: {
      family_index_entries: report.familyIndexEntries,
      consent_index_entries: report.consentIndexEntries,
      removed: report.removed,
    },
    text: [
      `removed ${total} index entries pointing at expired state: ` +
        `${report.familyIndexEntries} of refresh families, ${report.consentIndexEntries} of consents`,
      ...report.removed.map((entry) => `  ${entry.index}  ${entry.member}`),
      'Redis expires tokens, codes, sessions, consents and markers itself (each has a TTL).',
    ].join('\n'),
  }
}
