import { DEFAULT_BACKUP_DIR, readBackupFile, resolveBackupFile } from '../../admin/backup-files.ts'
import { restoreBackup } from '../../admin/restore.ts'
import { type CommandContext, type CommandResult, parseCommandLine } from '../cli-context.ts'
import { type UsageLine, usageError, usageText } from '../command.ts'

export const restoreUsage: readonly UsageLine[] = [
  {
    form: 'restore [file] [--force] [--dir D]',
    about: 'write back what is absent (default: the newest backup)',
  },
]

/**
 * `restore [file]` (default: the newest backup): writes back what is absent, leaves what is there.
 * Running gateways pick restored signing keys up when they meet a token signed by one of them.
 */
export async function restoreCommand(
  context: CommandContext,
  args: readonly string[]
): Promise<CommandResult> {
  const { values, positionals } = parseCommandLine(
    args,
    {
      dir: { type: 'string', default: DEFAULT_BACKUP_DIR },
      force: { type: 'boolean', default: false },
    },
    usageText(restoreUsage)
  )
  if (positionals.length > 1) throw usageError(restoreUsage)
  const file = await resolveBackupFile(values.dir, positionals[0])
  const backup = await readBackupFile(file)
  const report = await restoreBackup(context.store, context.clock, backup, {
    issuer: context.config.issuer,
    force: values.force,
  })
  await context.audit.record({
    event: 'admin.backup_restored',
    file,
    forced: values.force,
    restored: report.restored,
  })
  const lines = [
    `restored ${file} (made ${backup.created_at} by ${backup.issuer})`,
    `${report.restored} keys written, ${report.unchanged} already there, ` +
      `${report.expired} expired since the backup (skipped), ${report.indexMembersAdded} index entries added`,
    `signing keys: ${report.signingKeys}`,
    ...(report.conflicts.length
      ? [
          `${report.conflicts.length} keys hold other values than the backup and were left as they are:`,
          ...report.conflicts.map((key) => `  ${key}`),
        ]
      : []),
  ]
  return {
    data: {
      file,
      restored: report.restored,
      unchanged: report.unchanged,
      expired: report.expired,
      index_members_added: report.indexMembersAdded,
      signing_keys: report.signingKeys,
      conflicts: report.conflicts,
    },
    text: lines.join('\n'),
  }
}
