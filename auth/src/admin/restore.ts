import { type Clock, epochSeconds } from '../clock.ts'
import { keyPrefixes, keys } from '../store/keys.ts'
import type { Store } from '../store/store.ts'
import { AdminRefusal } from './admin-refusal.ts'
import { type Backup, parseRing, ringKeys, type SetEntry, type StringEntry } from './backup.ts'

export interface RestoreReport {
  /** Keys written (they were absent). */
  readonly restored: number
  /** Keys already present with the same value. */
  readonly unchanged: number
  /** Keys whose lifetime ended since the backup: not written. */
  readonly expired: number
  /** Keys present with another value: left as they are (the live state is newer). */
  readonly conflicts: readonly string[]
  /** Members added to index sets. */
  readonly indexMembersAdded: number
  readonly signingKeys: 'restored' | 'unchanged' | 'merged' | 'not in the backup'
}

/**
 * Writes a backup back. Idempotent: a key is written only when absent, an index set only gains
 * members, so restoring twice (or into a running gateway) changes nothing the second time and
 * never overwrites newer state. The one merge is the signing key ring: the backup's keys join an
 * existing ring as published previous keys, so tokens they signed verify while the ring's current
 * key keeps signing. A backup of another issuer is refused unless `force`: its tokens name an
 * issuer this gateway is not.
 */
export async function restoreBackup(
  store: Store,
  clock: Clock,
  backup: Backup,
  target: { readonly issuer: string; readonly force: boolean }
): Promise<RestoreReport> {
  if (backup.issuer !== target.issuer && !target.force) {
    throw new AdminRefusal(
      `this backup is of ${backup.issuer}, this gateway is ${target.issuer}: its tokens would not ` +
        'verify here. Restore it anyway with --force (clients and consents carry over).'
    )
  }
  const now = epochSeconds(clock)
  let restored = 0
  let unchanged = 0
  let expired = 0
  let indexMembersAdded = 0
  const conflicts: string[] = []
  let signingKeys: RestoreReport['signingKeys'] = 'not in the backup'
  // Records before the index sets that point at them; of the records, revocations first, then
  // refresh tokens before their families: a client refreshing during the restore meets a token
  // whose family is not back yet (refused, as unknown), never a family without its live token
  // (which would look like a replay), nor a revoked family before its marker.
  const strings = backup.entries
    .filter((entry): entry is StringEntry => 'value' in entry)
    .sort((a, b) => restoreRank(a.key) - restoreRank(b.key))
  const sets = backup.entries.filter((entry): entry is SetEntry => 'members' in entry)
  for (const entry of strings) {
    if (entry.key === keys.signingKeys()) {
      signingKeys = await restoreSigningKeys(store, entry.value)
      continue
    }
    const remaining = entry.expires_at === null ? 0 : entry.expires_at - now
    if (entry.expires_at !== null && remaining <= 0) {
      expired++
      continue
    }
    const options =
      remaining > 0 ? { ttlSeconds: remaining, onlyIfAbsent: true } : { onlyIfAbsent: true }
    // A client may have refreshed since the backup: its newest token, ahead of the family, is
    // believed once (`lookUpRefreshToken`). Marked before the family is back, so nobody meets it
    // unmarked; taken back when the store holds another version of the family.
    const familyId = entry.key.startsWith(keyPrefixes.refreshFamily)
      ? entry.key.slice(keyPrefixes.refreshFamily.length)
      : undefined
    const marked =
      familyId !== undefined && (await store.put(keys.restoredFamily(familyId), '1', options))
    if (await store.put(entry.key, entry.value, options)) restored++
    else if ((await store.get(entry.key)) === entry.value) unchanged++
    else {
      conflicts.push(entry.key)
      if (marked) await store.delete(keys.restoredFamily(familyId))
    }
  }
  for (const entry of sets) {
    const present = new Set(await store.setMembers(entry.key))
    for (const member of entry.members) {
      if (present.has(member)) continue
      await store.addToSet(entry.key, member)
      indexMembersAdded++
    }
  }
  return { restored, unchanged, expired, conflicts, indexMembersAdded, signingKeys }
}

async function restoreSigningKeys(
  store: Store,
  value: string
): Promise<RestoreReport['signingKeys']> {
  const key = keys.signingKeys()
  if (await store.put(key, value, { onlyIfAbsent: true })) return 'restored'
  const existing = await store.get(key)
  if (existing === null) return restoreSigningKeys(store, value)
  if (existing === value) return 'unchanged'
  const ring = parseRing(existing)
  const known = new Set(ringKeys(ring).map((jwk) => jwk.kid))
  const missing = ringKeys(parseRing(value)).filter((jwk) => !known.has(jwk.kid))
  if (missing.length === 0) return 'unchanged'
  // First among the previous keys: a later rotation keeps the newest previous keys published.
  await store.put(
    key,
    JSON.stringify({ current: ring.current, previous: [...missing, ...ring.previous] })
  )
  return 'merged'
}

/** What is restored first: revocation markers, then refresh tokens, then the rest in file order. */
const RESTORED_FIRST = [
  keyPrefixes.revocationMarker,
  keyPrefixes.refreshToken,
  keyPrefixes.rotatedRefreshToken,
]

function restoreRank(key: string): number {
  const rank = RESTORED_FIRST.findIndex((prefix) => key.startsWith(prefix))
  return rank < 0 ? RESTORED_FIRST.length : rank
}
