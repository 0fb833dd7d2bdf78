import { keyPrefixes, keys } from '../store/keys.ts'
import type { Store } from '../store/store.ts'

/**
 * Removes what Redis does not expire by itself. Every record and marker carries a TTL, and so
 * does each index set (a user's and a client's refresh families, a user's consents), but a set's
 * TTL is that of its longest-lived member: members naming a record that has expired since stay
 * until then, and are dropped here (as are sets from before index sets had a TTL). A member whose
 * record still exists is never touched, so purging can run at any time next to a live gateway.
 */
export interface PurgeReport {
  /** Index entries dropped because their refresh family had expired. */
  readonly familyIndexEntries: number
  /** Index entries dropped because their consent had expired. */
  readonly consentIndexEntries: number
  /** Each dropped entry: the index set and the member. */
  readonly removed: readonly { readonly index: string; readonly member: string }[]
}

export async function purgeExpired(store: Store): Promise<PurgeReport> {
  const removed: { index: string; member: string }[] = []
  let familyIndexEntries = 0
  for (const prefix of [keyPrefixes.userFamilies, keyPrefixes.clientFamilies]) {
    familyIndexEntries += await pruneIndex(store, prefix, (_owner, member) =>
      keys.refreshFamily(member)
    )
  }
  const consentIndexEntries = await pruneIndex(
    store,
    keyPrefixes.userConsents,
    (userId, clientId) => keys.consent(userId, clientId)
  )
  return { familyIndexEntries, consentIndexEntries, removed }

  /** Drops the members of every set under `prefix` whose record (`recordKey`) is gone. */
  async function pruneIndex(
    store: Store,
    prefix: string,
    recordKey: (owner: string, member: string) => string
  ): Promise<number> {
    const indexes = new Set<string>()
    for await (const key of store.scan(prefix)) indexes.add(key)
    let count = 0
    for (const index of indexes) {
      const owner = index.slice(prefix.length)
      const members = await store.setMembers(index)
      if (members.length === 0) continue
      const records = await store.getMany(members.map((member) => recordKey(owner, member)))
      const gone = members.filter((_, i) => records[i] === null)
      for (const member of gone) {
        const lifetime = await store.ttl(index)
        await store.removeFromSet(index, member)
        // Granted again between the read and the removal (a consent): put the entry back, with
        // the set's lifetime (removing the last member deleted the set, and its TTL with it).
        if ((await store.get(recordKey(owner, member))) !== null) {
          await store.batch([{ op: 'addToSet', key: index, member, ttlSeconds: lifetime ?? 0 }])
          continue
        }
        removed.push({ index, member })
        count++
      }
    }
    return count
  }
}
