import type { Store } from '../store/store.ts'
import type { AuthMetrics } from './auth-metrics.ts'

type Operation = Exclude<keyof Store, 'scan' | 'close'>

// Every operation of `Store` (the type refuses a list that misses one), each metered alike.
const EVERY_OPERATION: Record<Operation, true> = {
  get: true,
  getMany: true,
  put: true,
  replace: true,
  take: true,
  delete: true,
  increment: true,
  addToSet: true,
  removeFromSet: true,
  setMembers: true,
  batch: true,
  takeAndWrite: true,
  markAndTake: true,
  pace: true,
  ttl: true,
  expire: true,
  appendToStream: true,
  readStream: true,
  ping: true,
  checkPermissions: true,
  evictionRisk: true,
}
const OPERATIONS = Object.keys(EVERY_OPERATION) as Operation[]

/**
 * The store, timing every operation and counting the failed ones by operation name (a bounded
 * label: the methods of `Store`). Errors pass through unchanged: callers still tell `StoreFull`
 * from `StoreUnavailable`. The per-operation series are made once, not looked up per call.
 */
export function meteredStore(store: Store, metrics: AuthMetrics): Store {
  metrics.storeErrors.inc({ operation: 'scan' }, 0)
  const metered: Partial<Record<keyof Store, unknown>> = {
    scan: (prefix: string) => meteredScan(store, prefix, metrics),
    close: () => store.close(),
  }
  for (const operation of OPERATIONS) {
    const duration = metrics.storeOperations.labels(operation)
    const errors = metrics.storeErrors.labels(operation)
    errors.inc(0)
    const call = (store[operation] as (...args: unknown[]) => Promise<unknown>).bind(store)
    metered[operation] = async (...args: unknown[]) => {
      const started = performance.now()
      try {
        return await call(...args)
      } catch (error) {
        errors.inc()
        throw error
      } finally {
        duration.observe((performance.now() - started) / 1000)
      }
    }
  }
  return metered as Store
}

async function* meteredScan(store: Store, prefix: string, metrics: AuthMetrics) {
  try {
    yield* store.scan(prefix)
  } catch (error) {
    metrics.storeErrors.inc({ operation: 'scan' })
    throw error
  }
}
