import { execFile, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { stat } from 'node:fs/promises'
import { promisify } from 'node:util'
import type { ChildSpec } from './child-process.ts'

/** util-linux's `setpriv`, part of every Debian system (and the `node:*-slim` images). */
export const SETPRIV = '/usr/bin/setpriv'

/** Run by `/bin/sh -c` before the server: the files it creates are readable by its user only. */
const PRIVATE_FILES = 'umask 077 && exec "$@"'

/** The largest user or group id: one more is (uid_t)-1, "unchanged" to the kernel. */
const MAX_ID = 4_294_967_294

/**
 * The account the children run as (`CHILD_USER`), when it is not the bridge's own. A child under
 * the bridge's user can read the bridge's environment and memory through `/proc` (its secrets,
 * every user's requests, the GitHub tokens fetched for other users' children) and signal it; under
 * another user it can do none of that.
 */
export interface ChildUser {
  readonly uid: number
  readonly gid: number
  /** The name and home directory from the password database; absent for a bare `uid:gid`. */
  readonly name?: string | undefined
  readonly home?: string | undefined
}

/**
 * Reads `CHILD_USER`: a name from the password database, or `uid[:gid]` (the gid defaults to the
 * user's group when the uid is in the database, else to the uid). Root is refused: a child as
 * root could do everything the bridge must keep from it.
 *
 * @throws Error with a message saying what is wrong with the value.
 */
export function parseChildUser(value: string, passwd: string): ChildUser {
  const entries = passwdEntries(passwd)
  const numeric = /^(\d{1,10})(?::(\d{1,10}))?$/.exec(value)
  const entry = numeric
    ? entries.find((fields) => Number(fields[2]) === Number(numeric[1]))
    : entries.find((fields) => fields[0] === value)
  if (!numeric && !entry) throw new Error(`${value}: no such user in /etc/passwd (or give uid:gid)`)
  const uid = numeric ? Number(numeric[1]) : Number(entry?.[2])
  const gid = numeric?.[2] !== undefined ? Number(numeric[2]) : Number(entry?.[3] ?? uid)
  if (uid === 0 || gid === 0) throw new Error(`${value}: children never run as root`)
  // (uid_t)-1 asks setresuid to leave the id as it is: the child would stay root.
  if (uid > MAX_ID || gid > MAX_ID) throw new Error(`${value}: ids go up to ${MAX_ID}`)
  return { uid, gid, name: entry?.[0], home: entry?.[5] }
}

/** `CHILD_UID_RANGE`: the user ids given out one per child, both ends included. */
export interface UidRange {
  readonly first: number
  readonly last: number
}

/**
 * Reads `CHILD_UID_RANGE` (`first-last`): ids above root's and below (uid_t)-1.
 *
 * @throws Error with a message saying what is wrong with the value.
 */
export function parseUidRange(value: string, passwd: string): UidRange {
  const bounds = /^(\d{1,10})-(\d{1,10})$/.exec(value)
  if (!bounds) throw new Error(`${value}: write first-last, as 100000-100999`)
  const [first, last] = [Number(bounds[1]), Number(bounds[2])]
  if (first === 0 || last > MAX_ID || first > last) {
    throw new Error(`${value}: ids from 1 to ${MAX_ID}, the first not above the last`)
  }
  // A child under an account's id could read and change whatever that account owns.
  const account = passwdEntries(passwd).find((fields) => {
    const uid = Number(fields[2])
    return uid >= first && uid <= last
  })
  if (account) {
    throw new Error(
      `${value}: holds the id of the account ${account[0]} (${account[2]}); choose ids no account has`
    )
  }
  return { first, last }
}

/** The entries of a password database, each as its seven fields. */
function passwdEntries(passwd: string): string[][] {
  return passwd
    .split('\n')
    .map((line) => line.split(':'))
    .filter((fields) => fields.length >= 7 && /^\d+$/.test(fields[2] ?? ''))
}

/** The system's password database, for {@link parseChildUser}; empty when there is none. */
export function readPasswd(): string {
  try {
    return readFileSync('/etc/passwd', 'utf8')
  } catch {
    return ''
  }
}

/**
 * `spec` started as `user`: `setpriv` changes the user and group, drops every supplementary group
 * and forbids any gain of privileges; a shell sets the umask to 077 and executes the server itself
 * (no process stays between the bridge and it). What the server creates is its user's alone: the
 * servers of other services, under ids of the range, share the user's group. The user's name (else
 * its number) and home replace the bridge's in the environment: a server never sees itself as
 * root.
 */
export function runAs(user: ChildUser, spec: ChildSpec): ChildSpec {
  // Never the bridge's own (root): the account's name, else its number.
  const name = user.name ?? String(user.uid)
  const identity: Record<string, string> = { USER: name, LOGNAME: name }
  if (user.home !== undefined) identity.HOME = user.home
  return {
    ...spec,
    command: SETPRIV,
    args: [
      ...switchArguments(user),
      '/bin/sh',
      '-c',
      PRIVATE_FILES,
      'sh',
      spec.command,
      ...spec.args,
    ],
    env: { ...spec.env, ...identity },
  }
}

/**
 * Creates the missing ones of `directories` as `user`, so the user owns them and the bridge needs
 * no right to write into the data directory itself; each is the user's alone (mode 700), the
 * folders above them stay traversable, so the bridge can see that they exist. One of the user's
 * that others may enter (made by a version that left the umask at 022) is closed the same way.
 * A user's later children find theirs as they should be: no process is started for them.
 */
export async function makeDirectoriesAs(
  user: ChildUser,
  directories: readonly string[]
): Promise<void> {
  const found = await Promise.all(directories.map((directory) => directoryStatus(directory)))
  const missing = directories.filter((_, i) => found[i] === undefined)
  const open = directories.filter((_, i) => {
    const status = found[i]
    return status !== undefined && status.uid === user.uid && (status.mode & 0o077) !== 0
  })
  const run = (command: readonly string[]) =>
    promisify(execFile)(SETPRIV, [...switchArguments(user), ...command])
  if (missing.length > 0) await run(['mkdir', '-p', '-m', '700', '--', ...missing])
  if (open.length > 0) await run(['chmod', '700', '--', ...open])
}

/**
 * Whether this process can start children as `user`: it must not be that user itself (nothing
 * would be kept apart), and it must be allowed to switch (root with the SETUID and SETGID
 * capabilities). A reason when not; undefined when it can.
 */
export function childUserProblem(user: ChildUser): string | undefined {
  if (process.getuid?.() === user.uid) {
    return `the bridge itself runs as uid ${user.uid}: children under the same user are not kept apart from it`
  }
  // The switched process says who it is: a switch that left any id as it was is no switch.
  const probe = spawnSync(SETPRIV, [...switchArguments(user), 'cat', '/proc/self/status'], {
    encoding: 'utf8',
  })
  if (probe.error) return `${SETPRIV} cannot be run (${probe.error.message}): install util-linux`
  if (probe.status !== 0) {
    return `the bridge cannot switch to uid ${user.uid} (${probe.stderr.trim() || `exit ${probe.status}`}): run it as root with the SETUID and SETGID capabilities`
  }
  const status = (field: string) =>
    new RegExp(`^${field}:[ \t]*(.*)$`, 'm').exec(probe.stdout)?.[1]?.trim().split(/\s+/) ?? []
  const ids = [...status('Uid'), ...status('Gid')]
  const expected = [...Array(4).fill(String(user.uid)), ...Array(4).fill(String(user.gid))]
  const groups = status('Groups').filter(Boolean)
  if (ids.join() !== expected.join() || groups.some((group) => group !== String(user.gid))) {
    return `a process started as uid ${user.uid}, gid ${user.gid} ran with uids and gids ${ids.join(' ')}, groups ${groups.join(' ') || 'none'}`
  }
  return undefined
}

/**
 * What to tell the operator when the servers would run as root: the bridge is root (as compose
 * and Kubernetes run it) and `CHILD_USER` is not set. Undefined otherwise.
 */
export function childUserAdvice(
  childUser: ChildUser | undefined,
  bridgeUid: number | undefined
): string | undefined {
  if (childUser || bridgeUid !== 0) return undefined
  return 'the bridge runs as root and CHILD_USER is not set, so the MCP servers run as root too: set CHILD_USER to an unprivileged user (docs/mcp-services.md, "Threat model")'
}

/** Owner and mode of the directory at `path`; undefined when there is none. */
async function directoryStatus(path: string): Promise<{ uid: number; mode: number } | undefined> {
  try {
    const status = await stat(path)
    return status.isDirectory() ? { uid: status.uid, mode: status.mode } : undefined
  } catch {
    return undefined
  }
}

/** `setpriv`'s arguments that start what follows them as `user`, with nothing it could regain. */
export function switchArguments(user: ChildUser): string[] {
  return [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--no-new-privs', '--']
}
