import { seal, sealingKey, unseal } from '../oauth/sealing.ts'
import { keys } from '../store/keys.ts'
import type { Store } from '../store/store.ts'
import { parseRecord } from '../store/stored-record.ts'
import type { UpstreamGrant } from './upstream.ts'

/**
 * The user's latest upstream grant, one per user (GitHub silently revokes the oldest beyond ten
 * per user and app), kept so refreshes can re-check the user. Encrypted with AES-256-GCM under a
 * key derived from the upstream client secret: a copy of the store alone reveals no GitHub token.
 */
export interface UpstreamGrants {
  save(userId: string, grant: UpstreamGrant, ttlSeconds: number): Promise<void>
  find(userId: string): Promise<UpstreamGrant | null>
  /**
   * Replaces the kept grant with its renewal (a refreshed expiring token), keeping its lifetime:
   * using the token does not extend how long the gateway keeps it. False when it is gone.
   */
  renew(userId: string, grant: UpstreamGrant): Promise<boolean>
  remove(userId: string): Promise<void>
}

export function upstreamGrants(store: Store, secret: string): UpstreamGrants {
  const key = sealingKey(secret, 'upstream-grant-encryption')
  return {
    async save(userId, grant, ttlSeconds) {
      const value = seal(key, JSON.stringify(grant), userId)
      await store.put(keys.upstreamGrant(userId), value, { ttlSeconds })
    },
    async find(userId) {
      const value = await store.get(keys.upstreamGrant(userId))
      // Sealed under another secret (the upstream secret was rotated): as good as absent.
      const grant = value ? unseal(key, value, userId) : null
      return parseRecord<UpstreamGrant>(grant, keys.upstreamGrant(userId))
    },
    renew(userId, grant) {
      return store.replace(keys.upstreamGrant(userId), seal(key, JSON.stringify(grant), userId))
    },
    async remove(userId) {
      await store.delete(keys.upstreamGrant(userId))
    },
  }
}
