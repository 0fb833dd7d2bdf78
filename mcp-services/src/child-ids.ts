import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import type { Logger } from 'pino'
import { type ChildUser, SETPRIV, switchArguments, type UidRange } from './child-user.ts'

/** Who each child runs as, and the id given back once it has ended. */
export interface ChildUsers {
  /**
   * The user for one child: its own id from `CHILD_UID_RANGE` when there is one and the service
   * keeps no per-user data (which `CHILD_USER` owns), else `CHILD_USER` itself. `release` gives
   * the id back once what the child left under it is gone; call it once the child has ended.
   *
   * @throws Error when every id of the range belongs to a live child, or the id could not be
   *   cleared before its first use.
   */
  forChild(keepsData: boolean): Promise<{ readonly user: ChildUser; release(): void }>
}

/**
 * Run as the id's user: `kill -1` from a process of a user reaches every other process of that
 * user and nothing else; then what the user owns in the shared temporary directories goes. The
 * search enters only folders the user could have written in (its own, or writable by all or by
 * its group), so a large `/tmp` of other folders costs nothing.
 */
const RECLAIM_SCRIPT = [
  'kill -KILL -1 2>/dev/null',
  'find /tmp /var/tmp /dev/shm /run/lock -xdev -mindepth 1 \\( -user "$1" -prune -exec rm -rf -- {} + \\) -o \\( -type d ! -perm -0002 ! -perm -0020 -prune \\) 2>/dev/null',
  'exit 0',
].join('; ')

/**
 * Clears what a child may have left under its id before another child gets it: processes (a
 * detached helper, or a grandchild that outlived its parent) and files in the places every user
 * may write (`/tmp`, `/var/tmp`, `/dev/shm`, `/run/lock`). Left alone, a process could read the
 * next child's environment through `/proc` (another user's GitHub token), and the next child
 * could read the files.
 */
async function reclaimId(user: ChildUser): Promise<void> {
  await promisify(execFile)(SETPRIV, [
    ...switchArguments(user),
    '/bin/sh',
    '-c',
    RECLAIM_SCRIPT,
    'sh',
    String(user.uid),
  ])
}

/**
 * The children's users. With a range, no two live children of a service without data share a
 * user, so none can read another's environment (for `github`: another user's GitHub token) or
 * memory; the lowest free id is taken. An id is cleared (`reclaim`) before this process first
 * gives it out, since an earlier bridge may have left something under it (one that crashed, a
 * container restarted with its `/tmp`), and after each child under it has ended: only then is it
 * free again. An id that could not be cleared is never given out again.
 */
export function createChildUsers(
  base: ChildUser,
  range?: UidRange,
  options: { readonly logger?: Logger; readonly reclaim?: (user: ChildUser) => Promise<void> } = {}
): ChildUsers {
  const { logger, reclaim = reclaimId } = options
  const taken = new Set<number>()
  const cleared = new Set<number>()
  const shared = { user: base, release: () => {} }
  const notCleared = (uid: number, error: unknown) =>
    logger?.error(
      { event: 'child_id_not_reclaimed', uid, err: error },
      'what an MCP server left under this id could not be cleared: the id is not given out again'
    )
  return {
    async forChild(keepsData) {
      if (!range || keepsData) return shared
      let uid = range.first
      while (taken.has(uid) && uid <= range.last) uid++
      if (uid > range.last) {
        throw new Error(`every id of CHILD_UID_RANGE (${range.first}-${range.last}) is in use`)
      }
      taken.add(uid)
      // The account's group and home; not its name, which is another id's.
      const user: ChildUser = { uid, gid: base.gid, home: base.home }
      if (!cleared.has(uid)) {
        try {
          await reclaim(user)
        } catch (error) {
          notCleared(uid, error)
          throw new Error(`id ${uid} of CHILD_UID_RANGE could not be cleared before its first use`)
        }
        cleared.add(uid)
      }
      let released = false
      return {
        user,
        release() {
          if (released) return
          released = true
          reclaim(user).then(
            () => taken.delete(uid),
            (error: unknown) => notCleared(uid, error)
          )
        },
      }
    },
  }
}
