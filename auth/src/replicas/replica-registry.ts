import { keys } from '../store/keys.ts'
import type { Store } from '../store/store.ts'
import { parseUnlessDamaged } from '../store/stored-record.ts'
import type { ReplicaSettings, SharedSettings } from './shared-settings.ts'

/** A running auth replica as it announces itself in the store (`keys.replica`). */
export interface ReplicaRecord extends ReplicaSettings {
  readonly host: string
  readonly pid: number
  /** When it started, in epoch seconds. */
  readonly startedAt: number
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

/** Removes the replica's record: it stops, and no other replica should wait for it to expire. */
export async function withdrawReplica(store: Store, replicaId: string): Promise<void> {
  await store.batch([
    { op: 'delete', key: keys.replica(replicaId) },
    { op: 'removeFromSet', key: keys.replicas(), member: replicaId },
  ])
}

/**
 * The replicas running on the store, by their announcements; ids whose record expired (a replica
 * killed) leave the index as they are found. A record that cannot be read is passed over.
 */
export async function runningReplicas(store: Store): Promise<ReplicaRecord[]> {
  const ids = await store.setMembers(keys.replicas())
  const records = await store.getMany(ids.map((id) => keys.replica(id)))
  const running: ReplicaRecord[] = []
  const gone: string[] = []
  records.forEach((raw, index) => {
    const id = ids[index] ?? ''
    const record = parseUnlessDamaged<ReplicaRecord>(raw, keys.replica(id))
    if (record && typeof record.settings === 'object' && record.settings !== null) {
      running.push(record)
    } else if (raw === null) gone.push(id)
  })
  if (gone.length > 0) {
    await store.batch(
      gone.map((member) => ({ op: 'removeFromSet', key: keys.replicas(), member }) as const)
    )
  }
  return running.sort((a, b) => a.startedAt - b.startedAt || (a.id < b.id ? -1 : 1))
}
