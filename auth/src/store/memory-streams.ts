import type { Clock } from '../clock.ts'
import type { StreamEntry } from './store.ts'

/**
 * The memory store's streams (`Store.appendToStream`, `readStream`). They live beside the keys,
 * outside the key and byte bounds: each is capped by its length.
 */
export function memoryStreams(clock: Clock) {
  const streams = new Map<string, { entries: StreamEntry[]; lastTime: number; sequence: number }>()
  return {
    append(key: string, entry: string, maxLength: number): void {
      const stream = streams.get(key) ?? { entries: [], lastTime: 0, sequence: 0 }
      streams.set(key, stream)
      // Ids as Redis makes them, `<ms>-<sequence>`, increasing even when the clock goes back.
      const now = clock.now()
      if (now > stream.lastTime) {
        stream.lastTime = now
        stream.sequence = 0
      } else stream.sequence++
      stream.entries.push({ id: `${stream.lastTime}-${stream.sequence}`, entry })
      if (stream.entries.length > maxLength) {
        stream.entries.splice(0, stream.entries.length - maxLength)
      }
    },

    read(key: string, count: number, before?: string): StreamEntry[] {
      const held = streams.get(key)?.entries ?? []
      const later = before === undefined ? -1 : held.findIndex((e) => !olderId(e.id, before))
      const end = later === -1 ? held.length : later
      return held.slice(Math.max(0, end - count), end).reverse()
    },

    clear(): void {
      streams.clear()
    },
  }
}

/** Whether stream entry id `a` (`<ms>-<sequence>`) comes before `b`. */
function olderId(a: string, b: string): boolean {
  const [aTime = 0, aSequence = 0] = a.split('-').map(Number)
  const [bTime = 0, bSequence = 0] = b.split('-').map(Number)
  return aTime < bTime || (aTime === bTime && aSequence < bSequence)
}
