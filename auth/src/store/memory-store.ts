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
  const space = memoryKeyspace(clock, limits)
  const streams = memoryStreams(clock)

  return {
    get: async (key) => space.stringAt(key),
    getMany: async (keys) => keys.map(space.stringAt),

    async put(key, value, options: PutOptions = {}) {
      if (options.onlyIfAbsent && space.live(key)) return false
      const operation: WriteOperation = { op: 'put', key, value }
      space.makeRoom([operation])
      space.write(key, space.stringEntry(key, value, space.expiry(options.ttlSeconds)))
      return true
    },

    async replace(key, value) {
      const entry = space.live(key)
      if (!entry || typeof entry.value !== 'string') return false
      space.makeRoom([{ op: 'put', key, value }])
      space.write(key, space.stringEntry(key, value, entry.expiresAt))
      return true
    },

    async take(key) {
      const value = space.stringAt(key)
      if (value !== null) space.remove(key)
      return value
    },

    async delete(...keys) {
      let removed = 0
      for (const key of keys) if (space.live(key) && space.remove(key)) removed++
      return removed
    },

    async increment(key, ttlSeconds, by = 1) {
      const count = String(Number(space.stringAt(key) ?? '0') + by)
      space.makeRoom([{ op: 'put', key, value: count }])
      const expiresAt = space.live(key)?.expiresAt ?? space.expiry(ttlSeconds)
      space.write(key, space.stringEntry(key, count, expiresAt))
      return Number(count)
    },

    addToSet: async (key, member) => space.applyAll([{ op: 'addToSet', key, member }]),
    removeFromSet: async (key, member) => space.apply({ op: 'removeFromSet', key, member }),
    setMembers: async (key) => [...(space.setAt(key) ?? [])],

    async batch(operations, guard) {
      if (guard && 'ifUnchanged' in guard) {
        if (space.stringAt(guard.ifUnchanged.key) !== guard.ifUnchanged.value) return false
      } else if (guard && space.live(guard.unlessExists)) return false
      space.applyAll(operations)
      return true
    },

    async takeAndWrite(key, operations) {
      const taken = space.stringAt(key)
      if (taken === null) return null
      space.applyAll(operations)
      space.remove(key)
      return taken
    },

    async markAndTake(markers, key) {
      const marked = markers.map((marker) => !space.live(marker.key))
      const writes = markers
        .filter((_, at) => marked[at])
        .map((marker) => ({ op: 'put', ...marker }) as const)
      // Past the bound if need be, as Redis runs it when full (`gatewayMarkAndTake`).
      for (const write of writes) space.apply(write)
      const taken = space.stringAt(key)
      if (taken !== null) space.remove(key)
      return { marked, taken }
    },

    async pace(key, now, pacing) {
      const previous = pacerState(space.stringAt(key))
      const tooSoon = previous !== undefined && now - previous.at < previous.interval * 1000
      const interval =
        (previous?.interval ?? pacing.intervalSeconds) + (tooSoon ? pacing.backoffSeconds : 0)
      const value = JSON.stringify({ at: now, interval })
      space.makeRoom([{ op: 'put', key, value }])
      space.write(key, space.stringEntry(key, value, space.expiry(pacing.ttlSeconds)))
      return tooSoon
    },

    async *scan(prefix) {
      for (const key of space.keys()) if (key.startsWith(prefix) && space.live(key)) yield key
    },

    async ttl(key) {
      const expiresAt = space.live(key)?.expiresAt
      return expiresAt === undefined ? null : Math.ceil((expiresAt - clock.now()) / 1000)
    },

    async expire(key, ttlSeconds) {
      const entry = space.live(key)
      if (!entry) return false
      entry.expiresAt = space.expiry(ttlSeconds)
      return true
    },

    async appendToStream(key, entries, maxLength) {
      for (const entry of entries) streams.append(key, entry, maxLength)
    },
    readStream: async (key, count, before) => streams.read(key, count, before),

    usage: space.usage,

    ping: async () => {},
    checkPermissions: async () => {},
    evictionRisk: async () => undefined,
    async close() {
      space.clear()
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
