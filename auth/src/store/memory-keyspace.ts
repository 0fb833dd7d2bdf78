import type { Clock } from '../clock.ts'
import { StoreFull, type WriteOperation } from './store.ts'

interface Entry {
  value: string | Set<string>
  expiresAt: number | undefined
  /** UTF-8 bytes of the key and the value (every member of a set). */
  bytes: number
}

export interface MemoryStoreLimits {
  /** Keys held at most: a write that would add one more is refused. */
  readonly maxKeys: number
  /** UTF-8 bytes of keys and values held at most. */
  readonly maxBytes: number
  /** How often expired keys are dropped even when nobody reads them. */
  readonly sweepIntervalMs: number
}

/**
 * Bounds of the standalone demo's store: far above what a handful of users need (a client is
 * about 1 KB, a token family a few hundred bytes), low enough that a flood cannot take the
 * process' memory.
 */
export const MEMORY_STORE_LIMITS: MemoryStoreLimits = {
  maxKeys: 100_000,
  maxBytes: 64 * 1024 * 1024,
  sweepIntervalMs: 60_000,
}

/** A full store is swept before a write is refused, but not more often than this. */
const SWEEP_ON_FULL_MS = 1_000

/**
 * The memory store's keys: strings and sets with their lifetimes, and the size bound. Like Redis
 * with `maxmemory` and `noeviction`, it never evicts a live key to make room: a write over the
 * bound fails with `StoreFull` (answered 503). Expired keys are dropped when read and by a
 * periodic sweep, so keys nobody reads again do not pile up.
 */
export function memoryKeyspace(clock: Clock, limits: Partial<MemoryStoreLimits> = {}) {
  const { maxKeys, maxBytes, sweepIntervalMs } = { ...MEMORY_STORE_LIMITS, ...limits }
  const entries = new Map<string, Entry>()
  let totalBytes = 0
  let lastSweep = 0

  const expired = (entry: Entry, now: number) =>
    entry.expiresAt !== undefined && entry.expiresAt <= now
  const write = (key: string, entry: Entry) => {
    totalBytes += entry.bytes - (entries.get(key)?.bytes ?? 0)
    entries.set(key, entry)
  }
  const remove = (key: string): boolean => {
    const entry = entries.get(key)
    if (!entry) return false
    totalBytes -= entry.bytes
    return entries.delete(key)
  }
  const sweep = () => {
    const now = clock.now()
    lastSweep = now
    for (const [key, entry] of entries) if (expired(entry, now)) remove(key)
  }
  const timer = setInterval(sweep, sweepIntervalMs)
  timer.unref()

  const live = (key: string): Entry | undefined => {
    const entry = entries.get(key)
    if (entry && expired(entry, clock.now())) {
      remove(key)
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
  const stringEntry = (key: string, value: string, expiresAt: number | undefined): Entry => ({
    value,
    expiresAt,
    bytes: Buffer.byteLength(key) + Buffer.byteLength(value),
  })

  /** What a write adds: new keys and bytes (deletions in the same batch are not credited). */
  const growthOf = (operation: WriteOperation): { keys: number; bytes: number } => {
    const existing = live(operation.key)
    switch (operation.op) {
      case 'put':
        return {
          keys: existing ? 0 : 1,
          bytes:
            Buffer.byteLength(operation.key) +
            Buffer.byteLength(operation.value) -
            (existing?.bytes ?? 0),
        }
      case 'addToSet': {
        const members = existing?.value
        if (members instanceof Set && members.has(operation.member)) return { keys: 0, bytes: 0 }
        const memberBytes = Buffer.byteLength(operation.member)
        return existing
          ? { keys: 0, bytes: memberBytes }
          : { keys: 1, bytes: Buffer.byteLength(operation.key) + memberBytes }
      }
      default:
        return { keys: 0, bytes: 0 }
    }
  }
  /** Refuses a write that would take the store over its bound, after dropping expired keys. */
  const makeRoom = (operations: readonly WriteOperation[]) => {
    let keys = 0
    let bytes = 0
    for (const operation of operations) {
      const growth = growthOf(operation)
      keys += growth.keys
      bytes += growth.bytes
    }
    const fits = () =>
      (keys <= 0 || entries.size + keys <= maxKeys) &&
      (bytes <= 0 || totalBytes + bytes <= maxBytes)
    if (fits()) return
    if (clock.now() - lastSweep >= SWEEP_ON_FULL_MS) sweep()
    if (!fits()) throw new StoreFull('the memory store is full')
  }

  const apply = (operation: WriteOperation): void => {
    switch (operation.op) {
      case 'put': {
        const expiresAt = operation.keepTtl
          ? live(operation.key)?.expiresAt
          : expiry(operation.ttlSeconds)
        write(operation.key, stringEntry(operation.key, operation.value, expiresAt))
        return
      }
      case 'delete':
        remove(operation.key)
        return
      case 'addToSet': {
        const members = setAt(operation.key)
        const entry = live(operation.key)
        const lifetime = expiry(operation.ttlSeconds)
        if (members && entry) {
          // As on Redis: a lifetime is given to a set without one, or lengthened, never shortened.
          if (operation.ttlSeconds === 0) entry.expiresAt = undefined
          else if (lifetime !== undefined && (entry.expiresAt ?? 0) < lifetime) {
            entry.expiresAt = lifetime
          }
          if (members.has(operation.member)) return
          members.add(operation.member)
          entry.bytes += Buffer.byteLength(operation.member)
          totalBytes += Buffer.byteLength(operation.member)
        } else {
          write(operation.key, {
            value: new Set([operation.member]),
            expiresAt: lifetime,
            bytes: Buffer.byteLength(operation.key) + Buffer.byteLength(operation.member),
          })
        }
        return
      }
      case 'removeFromSet': {
        const members = setAt(operation.key)
        const entry = live(operation.key)
        if (!members || !entry || !members.delete(operation.member)) return
        entry.bytes -= Buffer.byteLength(operation.member)
        totalBytes -= Buffer.byteLength(operation.member)
        if (members.size === 0) remove(operation.key)
        return
      }
    }
  }
  const applyAll = (operations: readonly WriteOperation[]) => {
    makeRoom(operations)
    for (const operation of operations) apply(operation)
  }

  return {
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
    keys: () => [...entries.keys()],
    usage: () => ({ keys: entries.size, bytes: totalBytes }),
    clear() {
      clearInterval(timer)
      entries.clear()
      totalBytes = 0
    },
  }
}
