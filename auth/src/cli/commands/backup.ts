import { join } from 'node:path'
import { createBackup } from '../../admin/backup.ts'
import {
  backupFileName,
  DEFAULT_BACKUP_DIR,
  listBackupFiles,
  readBackupFile,
  resolveBackupFile,
  writeBackupFile,
} from '../../admin/backup-files.ts'
import { type BackupSummary, summarizeBackup } from '../../admin/backup-summary.ts'
import { type CommandContext, type CommandResult, parseCommandLine } from '../cli-context.ts'
import { type UsageLine, usageError, usageText } from '../command.ts'

export const backupUsage: readonly UsageLine[] = [
  {
    form: 'backup [file] [--dir D]',
    about: `write a backup (default ${DEFAULT_BACKUP_DIR}/gateway-<time>.json, mode 0600)`,
  },
  { form: 'backup list [--dir D]', about: `the backups in ${DEFAULT_BACKUP_DIR}/` },
  {
    form: 'backup view [file] [--dir D]',
    about: 'what a backup holds (names and ids, no secrets)',
  },
]

function parseBackupLine(args: readonly string[]) {
  const { values, positionals } = parseCommandLine(
    args,
    { dir: { type: 'string', default: DEFAULT_BACKUP_DIR } },
    usageText(backupUsage)
  )
  const [first, second, ...rest] = positionals
  if (rest.length > 0) throw usageError(backupUsage)
  return { dir: values.dir, first, second }
}

/** Whether `backup …` only reads backup files (`list`, `view`): it needs no store. */
export function readsBackupFilesOnly(args: readonly string[]): boolean {
  const { first } = parseBackupLine(args)
  return first === 'list' || first === 'view'
}

/**
 * `backup list` and `backup view [file]`: files only, so they work while the store is away (what
 * a restore after losing Redis starts with).
 */
export async function backupFilesCommand(
  config: Pick<CommandContext['config'], 'ttl'>,
  args: readonly string[]
): Promise<CommandResult> {
  const { dir, first, second } = parseBackupLine(args)
  if (first === 'list' && second === undefined) {
    const files = await listBackupFiles(dir)
    const lines = files.map((f) =>
      f.header
        ? `${f.file}  ${f.header.created_at}  ${f.header.issuer}  ${f.header.counts.clients ?? 0} clients, ` +
          `${f.header.counts.refresh_families ?? 0} token families  (${f.bytes} bytes, mode ${f.mode})`
        : `${f.file}  not a backup: ${f.problem}`
    )
    return { data: files, text: lines.length ? lines.join('\n') : `no backups in ${dir}/` }
  }
  if (first === 'view') {
    const file = await resolveBackupFile(dir, second)
    const summary = summarizeBackup(await readBackupFile(file), config.ttl.refreshToken)
    return { data: { file, ...summary }, text: `${file}\n${summaryText(summary)}` }
  }
  throw usageError(backupUsage)
}

/** `backup [file]`, and the file-only forms (`backupFilesCommand`). */
export async function backupCommand(
  context: CommandContext,
  args: readonly string[]
): Promise<CommandResult> {
  if (readsBackupFilesOnly(args)) return backupFilesCommand(context.config, args)
  const { dir, first, second } = parseBackupLine(args)
  if (second !== undefined) throw usageError(backupUsage)
  const { config, store, clock } = context
  const { backup, leftOut } = await createBackup(store, clock, {
    issuer: config.issuer,
    keyPrefix: config.redis?.keyPrefix ?? '',
    signingKeyPinned: config.pinnedSigningKey !== undefined,
  })
  const file = first ?? join(dir, backupFileName(backup))
  await writeBackupFile(file, backup)
  await context.audit.record({ event: 'admin.backup_written', file })
  const pinned = backup.signing_key_pinned
    ? '\nThe signing key is pinned by JWT_PRIVATE_KEY_B64: keep .env as safe as this file.'
    : ''
  // Written all the same, for everything else; exit 1 so that a scheduled backup is noticed.
  const damaged = leftOut.length
    ? `\nLeft out ${leftOut.length} damaged record(s), changed outside the gateway: ${leftOut
        .map((record) => `${record.key} (${record.problem})`)
        .join(', ')}; delete them (a client: clients delete <client-id>).`
    : ''
  return {
    data: {
      file,
      created_at: backup.created_at,
      issuer: backup.issuer,
      counts: backup.counts,
      left_out: leftOut,
    },
    text:
      `wrote ${file} (mode 0600): ${countsText(backup.counts)}\n` +
      `It holds secrets (private signing keys, encrypted GitHub tokens): keep it private.${pinned}${damaged}`,
    ...(leftOut.length ? { exitCode: 1 } : {}),
  }
}

export function countsText(counts: Readonly<Record<string, number>>): string {
  return Object.entries(counts)
    .map(([name, count]) => `${count} ${name.replace(/_/g, ' ')}`)
    .join(', ')
}

function summaryText(summary: BackupSummary): string {
  const { header } = summary
  return [
    `issuer ${header.issuer}, made ${header.created_at}, key prefix ${header.key_prefix}`,
    countsText(header.counts),
    header.note,
    '',
    `clients (${summary.clients.length}):`,
    ...summary.clients.map(
      (c) =>
        `  ${c.client_id}  ${c.client_name}  ${c.redirect_uris.join(' ')}  expires ${c.expires_at ?? 'never'}`
    ),
    `signing keys: ${summary.signing_keys.join(', ') || (header.signing_key_pinned ? 'pinned (not in the backup)' : 'none')}`,
    `token families (${summary.refresh_families.length}):`,
    ...summary.refresh_families.map(
      (f) =>
        `  ${f.id}  ${f.user_login} (${f.user_id})  client ${f.client_id}  expires ${f.expires_at ?? 'never'}`
    ),
    `consents (${summary.consents.length}):`,
    ...summary.consents.map(
      (c) => `  user ${c.user_id}  client ${c.client_id}  ${c.scopes.join(' ')}`
    ),
    `upstream grants of users: ${summary.upstream_grants.join(', ') || 'none'}`,
    `revocation markers: ${summary.revocations}`,
  ].join('\n')
}
