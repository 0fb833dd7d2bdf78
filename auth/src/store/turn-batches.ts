import type { Store } from './store.ts'

/**
 * Writes gathered over one turn of the event loop and sent to the store together. Under load many
 * requests reach the same write in one turn (an audit event each, a count of the same caller or of
 * everyone); one command then does for all of them, where each took a command and its share of a
 * round trip (docs/benchmarks.md, run 25). Each caller still waits for the store's answer to its
 * own write, so nothing is answered as done before it is.
 */

/** Entries a batch holds at most, so one script never keeps Redis busy for long. */
const MAX_BATCH = 256

/**
 * Appends to the stream `key`: the entries handed over in one turn go in one `appendToStream`, in
 * order, and each caller's promise settles with its batch.
 */
export function batchedAppend(
  store: Store,
  key: string,
  maxLength: number
): (entry: string) => Promise<void> {
  let batch: { entry: string; settled: PromiseWithResolvers<void> }[] = []
  const flush = () => {
    const taken = batch
    batch = []
    const entries = taken.map(({ entry }) => entry)
    store.appendToStream(key, entries, maxLength).then(
      () => {
        for (const { settled } of taken) settled.resolve()
      },
      (error: unknown) => {
        for (const { settled } of taken) settled.reject(error)
      }
    )
  }
  return (entry) => {
    const settled = Promise.withResolvers<void>()
    batch.push({ entry, settled })
    if (batch.length === 1) setImmediate(() => batch.length > 0 && flush())
    else if (batch.length >= MAX_BATCH) flush()
    return settled.promise
  }
}

/**
 * Increments counters: the increments of one counter in one turn are one `increment` by their
 * number, and each caller is answered the value its own increment made (the first the old value
 * plus one, and so on), exactly as if they had been sent one by one in that order. A fixed-window
 * limit therefore refuses the same requests it would have refused unbatched.
 */
export function coalescedIncrement(
  store: Store
): (key: string, ttlSeconds: number) => Promise<number> {
  const pending = new Map<string, { ttlSeconds: number; waiting: PromiseWithResolvers<number>[] }>()
  const flush = (key: string) => {
    const counter = pending.get(key)
    if (!counter) return
    pending.delete(key)
    const { ttlSeconds, waiting } = counter
    store.increment(key, ttlSeconds, waiting.length).then(
      (total) => {
        let made = total - waiting.length
        for (const settled of waiting) settled.resolve(++made)
      },
      (error: unknown) => {
        for (const settled of waiting) settled.reject(error)
      }
    )
  }
  return (key, ttlSeconds) => {
    const settled = Promise.withResolvers<number>()
    const counter = pending.get(key)
    if (counter) counter.waiting.push(settled)
    else {
      pending.set(key, { ttlSeconds, waiting: [settled] })
      setImmediate(flush, key)
    }
    return settled.promise
  }
}
