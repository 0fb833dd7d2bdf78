interface Slot<V> {
  value: V
  /** Read since it was last considered for eviction ("second chance"). */
  used: boolean
}

/**
 * A bounded map that forgets entries not read recently once full: the CLOCK approximation of
 * least-recently-used. A read only marks the entry, so the hot path pays one `Map.get` instead of
 * re-inserting the entry; when full, the oldest unmarked entry goes, marked ones being moved to
 * the back with their mark cleared.
 */
export class LruCache<K, V> {
  readonly #entries = new Map<K, Slot<V>>()
  readonly #capacity: number

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`LruCache capacity must be a positive integer, got ${capacity}`)
    }
    this.#capacity = capacity
  }

  get size(): number {
    return this.#entries.size
  }

  get(key: K): V | undefined {
    const slot = this.#entries.get(key)
    if (!slot) return undefined
    slot.used = true
    return slot.value
  }

  set(key: K, value: V): void {
    const slot = this.#entries.get(key)
    if (slot) {
      slot.value = value
      slot.used = true
      return
    }
    if (this.#entries.size >= this.#capacity) this.#evictOne()
    this.#entries.set(key, { value, used: false })
  }

  delete(key: K): void {
    this.#entries.delete(key)
  }

  #evictOne(): void {
    // Terminates: every pass clears a mark, so within capacity + 1 steps an unmarked entry is first.
    for (;;) {
      const oldest = this.#entries.entries().next()
      if (oldest.done) return
      const [key, slot] = oldest.value
      this.#entries.delete(key)
      if (!slot.used) return
      slot.used = false
      this.#entries.set(key, slot)
    }
  }
}
