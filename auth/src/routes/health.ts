import { Hono } from 'hono'
import type { Readiness } from '../readiness.ts'
import type { Store } from '../store/store.ts'

const READY_TIMEOUT_MS = 2_000

/**
 * Liveness (`/health`: the process answers) and readiness (`/ready`: the store answers too, and
 * the process is not shutting down).
 */
export const healthRoute = (store: Store, readiness?: Readiness) =>
  new Hono()
    .get('/health', (c) => c.json({ status: 'ok' }))
    .get('/ready', async (c) => {
      const stopping = readiness?.notReadyReason
      if (stopping !== undefined) return c.json({ status: 'unavailable', reason: stopping }, 503)
      let timer: NodeJS.Timeout | undefined
      const ready = await Promise.race([
        store.ping().then(
          () => true,
          () => false
        ),
        new Promise<false>((resolve) => {
          timer = setTimeout(resolve, READY_TIMEOUT_MS, false)
        }),
      ]).finally(() => clearTimeout(timer))
      return ready
        ? c.json({ status: 'ready' })
        : c.json({ status: 'unavailable', reason: 'the store does not answer' }, 503)
    })
