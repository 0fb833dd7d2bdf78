import { keys } from '../store/keys.ts'
import type { Store } from '../store/store.ts'
import { parseUnlessDamaged } from '../store/stored-record.ts'
import type { ReplicaSettings, SharedSettings } from './shared-settings.ts'

/** An auth replica as it announces itself in the store (`keys.replica`). */
export interface ReplicaRecord extends ReplicaSettings {
  readonly host: string
  readonly pid: number
  /** When it started, in epoch seconds. */
  readonly startedAt: number
  /** When it stopped, in epoch seconds: its word is kept a while (`STOPPED_KEPT_SECONDS`). */
  readonly stoppedAt?: number
  readonly settings: SharedSettings
}

/**
 * How often a replica announces itself, and how long an announcement lasts: a replica killed
 * without its stop is forgotten within three announcements.
 */
export const ANNOUNCE_INTERVAL_SECONDS = 30
export const ANNOUNCEMENT_TTL_SECONDS = 3 * ANNOUNCE_INTERVAL_SECONDS

/** Writes (or rewrites) the replica's record, for another `ANNOUNCEMENT_TTL_SECONDS`. */
export async function announceReplica(store: Store, replica: ReplicaRecord): Promise<void> {
  const ttlSeconds = ANNOUNCEMENT_TTL_SECONDS
  await store.batch([
    { op: 'put', key: keys.replica(replica.id), value: JSON.stringify(replica), ttlSeconds },
    { op: 'addToSet', key: keys.replicas(), member: replica.id, ttlSeconds },
  ])
}

/**
 * How long a stopped replica's settings still count. A replica restarted in the middle of a
 * rollout (the one whose list is wider, say) is back well within it, and meanwhile the others do
 * not take its absence for agreement and revoke what it would let through.
 */
export const STOPPED_KEPT_SECONDS = 60

/** Marks the replica's record stopped, kept `STOPPED_KEPT_SECONDS` rather than its full life. */
export async function withdrawReplica(
  store: Store,
  replica: ReplicaRecord,
  stoppedAt: number
): Promise<void> {
  const ttlSeconds = STOPPED_KEPT_SECONDS
  const stopped: ReplicaRecord = { ...replica, stoppedAt }
  await store.put(keys.replica(replica.id), JSON.stringify(stopped), { ttlSeconds })
}

/**
 * The replicas on the store, by their announcements: those running, and those stopped within
 * `STOPPED_KEPT_SECONDS` (`stoppedAt`); ids whose record expired (a replica killed, or stopped a
 * while ago) leave the index as they are found. A record that cannot be read is passed over.
 */
export async function announcedReplicas(store: Store): Promise<ReplicaRecord[]> {
  const ids = await store.setMembers(keys.replicas())
  const records = await store.getMany(ids.map((id) => keys.replica(id)))
  const announced: ReplicaRecord[] = []
  const gone: string[] = []
  records.forEach((raw, index) => {
    const id = ids[index] ?? ''
    const record = parseUnlessDamaged<ReplicaRecord>(raw, keys.replica(id))
    if (record && typeof record.settings === 'object' && record.settings !== null) {
      announced.push(record)
    } else if (raw === null) gone.push(id)
  })
  if (gone.length > 0) {
    await store.batch(
      gone.map((member) => ({ op: 'removeFromSet', key: keys.replicas(), member }) as const)
    )
  }
  return announced.sort((a, b) => a.startedAt - b.startedAt || (a.id < b.id ? -1 : 1))
}
