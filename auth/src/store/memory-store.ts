import type { Clock } from '../clock.ts'
import type { PutOptions, Store, WriteOperation } from './store.ts'

interface Entry {
  value: string | Set<string>
  expiresAt: number | undefined
}

/**
 * An in-process store with the same semantics as the Redis one (TTLs, atomic take, batches).
 * State is lost when the process ends, so it is only for the standalone demo and is refused in
 * production by the configuration.
 */
export function createMemoryStore(clock: Clock): Store {
  const entries = new Map<string, Entry>()

  const live = (key: string): Entry | undefined => {
    const entry = entries.get(key)
    if (entry?.expiresAt !== undefined && entry.expiresAt <= clock.now()) {
      entries.delete(key)
      return undefined
    }
    return entry
  }
  const stringAt = (key: string): string | null => {
    const value = live(key)?.value
    return typeof value === 'string' ? value : null
  }
  const setAt = (key: string): Set<string> | undefined => {
    const value = live(key)?.value
    if (value === undefined) return undefined
    if (typeof value === 'string') throw new Error(`WRONGTYPE: ${key} holds a string`)
    return value
  }
  const expiry = (ttlSeconds: number | undefined) =>
    ttlSeconds && ttlSeconds > 0 ? clock.now() + ttlSeconds * 1000 : undefined

  const apply = (operation: WriteOperation): void => {
    switch (operation.op) {
      case 'put':
        entries.set(operation.key, {
          value: operation.value,
          expiresAt: expiry(operation.ttlSeconds),
        })
        return
      case 'delete':
        entries.delete(operation.key)
        return
      case 'addToSet': {
        const members = setAt(operation.key)
        if (members) members.add(operation.member)
        else
          entries.set(operation.key, { value: new Set([operation.member]), expiresAt: undefined })
        return
      }
      case 'removeFromSet': {
        const members = setAt(operation.key)
        members?.delete(operation.member)
        if (members?.size === 0) entries.delete(operation.key)
        return
      }
    }
  }

  return {
    get: async (key) => stringAt(key),
    getMany: async (keys) => keys.map(stringAt),

    async put(key, value, options: PutOptions = {}) {
      if (options.onlyIfAbsent && live(key)) return false
      entries.set(key, { value, expiresAt: expiry(options.ttlSeconds) })
      return true
    },

    async take(key) {
      const value = stringAt(key)
      if (value !== null) entries.delete(key)
      return value
    },

    async delete(...keys) {
      let removed = 0
      for (const key of keys) if (live(key) && entries.delete(key)) removed++
      return removed
    },

    async increment(key, ttlSeconds) {
      const count = Number(stringAt(key) ?? '0') + 1
      const expiresAt = live(key)?.expiresAt ?? expiry(ttlSeconds)
      entries.set(key, { value: String(count), expiresAt })
      return count
    },

    addToSet: async (key, member) => apply({ op: 'addToSet', key, member }),
    removeFromSet: async (key, member) => apply({ op: 'removeFromSet', key, member }),
    setMembers: async (key) => [...(setAt(key) ?? [])],

    async batch(operations) {
      for (const operation of operations) apply(operation)
    },

    async *scan(prefix) {
      for (const key of [...entries.keys()]) if (key.startsWith(prefix) && live(key)) yield key
    },

    async ttl(key) {
      const expiresAt = live(key)?.expiresAt
      return expiresAt === undefined ? null : Math.ceil((expiresAt - clock.now()) / 1000)
    },

    ping: async () => {},
    close: async () => entries.clear(),
  }
}
