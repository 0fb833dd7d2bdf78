import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { AdminRefusal } from './admin-refusal.ts'
import { type Backup, type BackupHeader, backupHeader, parseBackup } from './backup.ts'

/** Where backups go unless told otherwise (relative to the working directory; gitignored). */
export const DEFAULT_BACKUP_DIR = 'backups'

/** `gateway-2026-08-01T12-30-05-123Z.json`: sorts by time, safe on every file system. */
export function backupFileName(backup: Backup): string {
  return `gateway-${backup.created_at.replace(/[:.]/g, '-')}.json`
}

/**
 * Writes a backup readable by its owner only (0600, in a 0700 directory when it creates one):
 * it holds private keys. Never replaces an existing file.
 */
export async function writeBackupFile(path: string, backup: Backup): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 })
  try {
    await writeFile(path, `${JSON.stringify(backup, null, 2)}\n`, { mode: 0o600, flag: 'wx' })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new AdminRefusal(`${path} exists already: choose another file name`)
    }
    throw error
  }
  // The mode given at creation is narrowed by the umask, never widened; this makes it exact.
  await chmod(path, 0o600)
}

export async function readBackupFile(path: string): Promise<Backup> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new AdminRefusal(`no backup file ${path}`)
    }
    throw error
  }
  return parseBackup(text)
}

export interface BackupFileListing {
  readonly file: string
  readonly bytes: number
  /** Mode bits as octal text, e.g. `600`. */
  readonly mode: string
  readonly header?: BackupHeader
  /** Why the file is not a readable backup. */
  readonly problem?: string
}

/** The `.json` files of a backup directory, oldest first; an absent directory holds none. */
export async function listBackupFiles(dir: string): Promise<BackupFileListing[]> {
  let names: string[]
  try {
    names = (await readdir(dir)).filter((name) => name.endsWith('.json')).sort()
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw error
  }
  const listings = await Promise.all(
    names.map(async (name): Promise<BackupFileListing> => {
      const file = join(dir, name)
      const info = await stat(file)
      const base = { file, bytes: info.size, mode: (info.mode & 0o777).toString(8) }
      try {
        return { ...base, header: backupHeader(await readBackupFile(file)) }
      } catch (error) {
        return { ...base, problem: error instanceof Error ? error.message : String(error) }
      }
    })
  )
  return listings.sort((a, b) =>
    (a.header?.created_at ?? '').localeCompare(b.header?.created_at ?? '')
  )
}

/**
 * The backup file an operator means: the path as given, else that name inside the backup
 * directory; without a name, the newest backup there.
 */
export async function resolveBackupFile(dir: string, given: string | undefined): Promise<string> {
  if (given !== undefined) {
    for (const candidate of [given, join(dir, given)]) {
      if (await exists(candidate)) return candidate
    }
    throw new AdminRefusal(`no backup file ${given} (nor ${join(dir, given)})`)
  }
  const newest = (await listBackupFiles(dir)).filter((listing) => listing.header).at(-1)
  if (!newest) throw new AdminRefusal(`no backups in ${dir}/ (make one with: backup)`)
  return newest.file
}

async function exists(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile()
  } catch {
    return false
  }
}
