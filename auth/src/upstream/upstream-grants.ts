import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto'
import { keys } from '../store/keys.ts'
import type { Store } from '../store/store.ts'
import type { UpstreamGrant } from './upstream.ts'

/**
 * The user's latest upstream grant, one per user (GitHub silently revokes the oldest beyond ten
 * per user and app), kept so refreshes can re-check the user. Encrypted with AES-256-GCM under a
 * key derived from the upstream client secret: a copy of the store alone reveals no GitHub token.
 */
export interface UpstreamGrants {
  save(userId: string, grant: UpstreamGrant, ttlSeconds: number): Promise<void>
  find(userId: string): Promise<UpstreamGrant | null>
  remove(userId: string): Promise<void>
}

export function upstreamGrants(store: Store, secret: string): UpstreamGrants {
  const key = Buffer.from(
    hkdfSync('sha256', secret, 'mcp-oauth-gateway', 'upstream-grant-encryption', 32)
  )
  return {
    async save(userId, grant, ttlSeconds) {
      const iv = randomBytes(12)
      const cipher = createCipheriv('aes-256-gcm', key, iv)
      cipher.setAAD(Buffer.from(userId))
      const sealed = Buffer.concat([cipher.update(JSON.stringify(grant), 'utf8'), cipher.final()])
      const value = [iv, cipher.getAuthTag(), sealed].map((b) => b.toString('base64url')).join('.')
      await store.put(keys.upstreamGrant(userId), value, { ttlSeconds })
    },
    async find(userId) {
      const value = await store.get(keys.upstreamGrant(userId))
      if (!value) return null
      const [iv, tag, sealed] = value.split('.').map((part) => Buffer.from(part, 'base64url'))
      if (!iv || !tag || !sealed) return null
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, iv)
        decipher.setAAD(Buffer.from(userId))
        decipher.setAuthTag(tag)
        return JSON.parse(
          Buffer.concat([decipher.update(sealed), decipher.final()]).toString('utf8')
        ) as UpstreamGrant
      } catch {
        // Sealed under another secret (the upstream secret was rotated): as good as absent.
        return null
      }
    },
    async remove(userId) {
      await store.delete(keys.upstreamGrant(userId))
    },
  }
}
