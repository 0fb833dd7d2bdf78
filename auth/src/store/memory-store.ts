import type { Clock } from '../clock.ts'
import { type MemoryStoreLimits, memoryKeyspace } from './memory-keyspace.ts'
import { memoryStreams } from './memory-streams.ts'
import type { PutOptions, Store, WriteOperation } from './store.ts'

export interface MemoryStore extends Store {
  /** What the store holds now, expired keys not swept yet included (what the bound counts). */
  usage(): { keys: number; bytes: number }
}

/**
 * An in-process store with the same semantics as the Redis one (TTLs, atomic take, batches).
 * State is lost when the process ends, so it is only for the standalone demo and is refused in
 * production by the configuration. It is bounded like Redis with `noeviction`
 * (`memory-keyspace.ts`).
 */
export function createMemoryStore(
  clock: Clock,
  limits: Partial<MemoryStoreLimits> = {}
): MemoryStore {
  const {
    live,
    stringAt,
    setAt,
    write,
    remove,
    expiry,
    stringEntry,
    makeRoom,
    apply,
    applyAll,
    keys: allKeys,
    usage,
    clear,
  } = memoryKeyspace(clock, limits)
  const streams = memoryStreams(clock)

  return {
    get: async (key) => stringAt(key),
    getMany: async (keys) => keys.map(stringAt),

    async put(key, value, options: PutOptions = {}) {
      if (options.onlyIfAbsent && live(key)) return false
      const operation: WriteOperation = { op: 'put', key, value }
      makeRoom([operation])
      write(key, stringEntry(key, value, expiry(options.ttlSeconds)))
      return true
    },

    async replace(key, value) {
      const entry = live(key)
      if (!entry || typeof entry.value !== 'string') return false
      makeRoom([{ op: 'put', key, value }])
      write(key, stringEntry(key, value, entry.expiresAt))
      return true
    },

    async take(key) {
      const value = stringAt(key)
      if (value !== null) remove(key)
      return value
    },

    async delete(...keys) {
      let removed = 0
      for (const key of keys) if (live(key) && remove(key)) removed++
      return removed
    },

    async increment(key, ttlSeconds) {
      const count = String(Number(stringAt(key) ?? '0') + 1)
      makeRoom([{ op: 'put', key, value: count }])
      const expiresAt = live(key)?.expiresAt ?? expiry(ttlSeconds)
      write(key, stringEntry(key, count, expiresAt))
      return Number(count)
    },

    addToSet: async (key, member) => applyAll([{ op: 'addToSet', key, member }]),
    removeFromSet: async (key, member) => apply({ op: 'removeFromSet', key, member }),
    setMembers: async (key) => [...(setAt(key) ?? [])],

    async batch(operations, guard) {
      if (guard && 'ifUnchanged' in guard) {
        if (stringAt(guard.ifUnchanged.key) !== guard.ifUnchanged.value) return false
      } else if (guard && live(guard.unlessExists)) return false
      applyAll(operations)
      return true
    },

    async takeAndWrite(key, operations) {
      const taken = stringAt(key)
      if (taken === null) return null
      applyAll(operations)
      remove(key)
      return taken
    },

    async pace(key, now, pacing) {
      const previous = pacerState(stringAt(key))
      const tooSoon = previous !== undefined && now - previous.at < previous.interval * 1000
      const interval =
        (previous?.interval ?? pacing.intervalSeconds) + (tooSoon ? pacing.backoffSeconds : 0)
      const value = JSON.stringify({ at: now, interval })
      makeRoom([{ op: 'put', key, value }])
      write(key, stringEntry(key, value, expiry(pacing.ttlSeconds)))
      return tooSoon
    },

    async *scan(prefix) {
      for (const key of allKeys()) if (key.startsWith(prefix) && live(key)) yield key
    },

    async ttl(key) {
      const expiresAt = live(key)?.expiresAt
      return expiresAt === undefined ? null : Math.ceil((expiresAt - clock.now()) / 1000)
    },

    async expire(key, ttlSeconds) {
      const entry = live(key)
      if (!entry) return false
      entry.expiresAt = expiry(ttlSeconds)
      return true
    },

    appendToStream: async (key, entry, maxLength) => streams.append(key, entry, maxLength),
    readStream: async (key, count, before) => streams.read(key, count, before),

    usage,

    ping: async () => {},
    async close() {
      clear()
      streams.clear()
    },
  }
}

/** A pacer's last request (ms) and interval (s); none when absent or unreadable, as on Redis. */
function pacerState(raw: string | null): { at: number; interval: number } | undefined {
  if (raw === null) return undefined
  try {
    const { at, interval } = JSON.parse(raw) as { at?: unknown; interval?: unknown }
    return typeof at === 'number' && typeof interval === 'number' ? { at, interval } : undefined
  } catch {
    return undefined
  }
}
