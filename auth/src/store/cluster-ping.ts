import type { Cluster } from 'ioredis'
import { StoreUnavailable } from './store.ts'

const CLUSTER_SLOTS = 16_384

/**
 * Whether a Cluster serves: a node answers PING whatever it serves, so the Cluster serves once
 * every slot has a node in the map ioredis routes by (a Cluster being formed answers before that).
 * The answer is awaited for at most `timeoutMs`: a Cluster that answers but is not ready keeps
 * the command in ioredis's offline queue, which has no deadline of its own.
 *
 * PING does not go through ioredis's pipelining (`redis-connection.ts`): given a command before
 * its first slot map and then a map with holes, the pipelining throws from a callback of its own,
 * which ends the process.
 */
export async function pingCluster(cluster: Cluster, timeoutMs: number): Promise<void> {
  // Why it does not answer, when it says: the last error of its connection attempts.
  let lastError: Error | undefined
  const noted = (error: Error) => {
    lastError = error
  }
  cluster.on('error', noted)
  const ping = cluster.ping()
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const node = (lastError as { lastNodeError?: Error } | undefined)?.lastNodeError
      const why = lastError
        ? `${lastError.message}${node ? ` (last node error: ${node.message})` : ''}`
        : `its connection is ${cluster.status}`
      reject(new StoreUnavailable(`the Cluster does not answer: ${why}`, { cause: lastError }))
    }, timeoutMs)
  })
  try {
    await Promise.race([ping, late])
  } finally {
    clearTimeout(timer)
    cluster.off('error', noted)
    // Answered after the deadline, or failed after it: nobody waits for it any more.
    ping.catch(() => {})
  }
  if (!servesEverySlot(cluster)) {
    // The map was read while the Cluster was being formed, and PING meets no MOVED that would
    // make ioredis read it again: asked now, so the next ping judges the Cluster as it is.
    cluster.refreshSlotsCache()
    throw new StoreUnavailable('the Cluster does not serve every slot yet')
  }
}

function servesEverySlot(cluster: Cluster): boolean {
  for (let slot = 0; slot < CLUSTER_SLOTS; slot++) {
    if (!cluster.slots[slot]?.length) return false
  }
  return true
}
