import type { Store } from '../store/store.ts'

/** Entries a batch holds at most, so one script never keeps Redis busy for long. */
const MAX_BATCH = 256

/**
 * Appends to one stream in batches: the entries handed over in one turn of the event loop go to
 * the store together (one command, one round trip), and each caller's promise settles with its
 * batch, so an awaited append still means the entry is kept. Under load the audit entries of many
 * requests share one write, where each took its own round trip (docs/benchmarks.md, run 25).
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
    store
      .appendToStream(
        key,
        taken.map(({ entry }) => entry),
        maxLength
      )
      .then(
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
