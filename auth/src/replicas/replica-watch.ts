import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import { type Clock, epochSeconds } from '../clock.ts'
import type { Config } from '../config.ts'
import type { Logger } from '../logger.ts'
import type { AuthMetrics } from '../metrics/auth-metrics.ts'
import type { Store } from '../store/store.ts'
import {
  ANNOUNCE_INTERVAL_SECONDS,
  announcedReplicas,
  announceReplica,
  type ReplicaRecord,
  withdrawReplica,
} from './replica-registry.ts'
import { type Disagreement, disagreements, sharedSettings } from './shared-settings.ts'

/** What the other running replicas' settings say of a verdict. */
export interface ReplicaAgreement {
  /**
   * Whether another replica has another value of one of `settings`, after a look now: a replica
   * started since the last look (up to 30 s ago) is known before a verdict that cannot be taken
   * back. A look the store fails leaves the last one's word.
   */
  disagreesOn(settings: readonly string[]): Promise<boolean>
}

/** This replica's place among those running on the store. */
export interface ReplicaWatch extends ReplicaAgreement {
  /** Its announcement in the store. */
  readonly replica: ReplicaRecord
  /** Announces it and compares it with the others now. */
  look(): Promise<readonly Disagreement[]>
  /** Looks now (a failure is tried again at the next look), then every 30 s. */
  start(): void
  /** Stops announcing, and marks its announcement stopped (`withdrawReplica`). */
  stop(): Promise<void>
}

/**
 * Announces this replica in the store, with its shared settings' fingerprints, and compares them
 * with every other replica's, once started and every 30 s: a replica whose settings differ is warned
 * about (`replicas_disagree`) whenever what differs changes, and the gauge
 * `auth_replica_settings_disagreeing` says how many settings do. A look the store fails is tried
 * again at the next one (the store's own metrics count the failure).
 */
export function watchReplicas(parts: {
  store: Store
  clock: Clock
  logger: Logger
  config: Config
  metrics: AuthMetrics
}): ReplicaWatch {
  const { store, logger, metrics } = parts
  const host = hostname()
  const replica: ReplicaRecord = {
    id: `${host}:${process.pid}:${randomBytes(3).toString('hex')}`,
    host,
    pid: process.pid,
    startedAt: epochSeconds(parts.clock),
    settings: sharedSettings(parts.config),
  }
  let found: readonly Disagreement[] = []
  // What was last said: nothing yet, which a replica agreeing with all others leaves unsaid.
  let said = '[]'
  const look = async () => {
    // Compared all the same when the announcement fails: a Sentinel master with no replica up
    // keeps the write but refuses to confirm it, and the others' word matters most then.
    await announceReplica(store, replica).catch(() => {})
    const others = (await announcedReplicas(store)).filter((other) => other.id !== replica.id)
    found = disagreements(replica.settings, others)
    metrics.replicaSettingsDisagreeing.set(found.length)
    const now = JSON.stringify(found)
    if (now !== said) report(logger, found, others.length)
    said = now
    return found
  }
  // Refusals arriving together (a removed user's clients) share the look in flight.
  let looking: Promise<readonly Disagreement[]> | undefined
  const lookOnce = () => {
    looking ??= look().finally(() => {
      looking = undefined
    })
    return looking
  }
  let timer: NodeJS.Timeout | undefined
  return {
    replica,
    look,
    async disagreesOn(settings) {
      await lookOnce().catch(() => {})
      return found.some((d) => settings.includes(d.setting))
    },
    start() {
      const lookAgain = () => void lookOnce().catch(() => {})
      lookAgain()
      timer = setInterval(lookAgain, ANNOUNCE_INTERVAL_SECONDS * 1000)
      timer.unref()
    },
    async stop() {
      clearInterval(timer)
      await withdrawReplica(store, replica, epochSeconds(parts.clock))
    },
  }
}

function report(logger: Logger, found: readonly Disagreement[], others: number): void {
  if (found.length === 0) {
    logger.info(
      { event: 'replicas_agree', replicas: others + 1 },
      'every replica running on this store has the same shared settings'
    )
    return
  }
  const settings = found.map((d) => d.setting)
  const replicas = [...new Set(found.flatMap((d) => d.replicas))]
  logger.warn(
    { event: 'replicas_disagree', settings, replicas },
    `replicas running on this store have other ${settings.join(', ')} than this one: they answer the same users differently (a refresh one of them would refuse is deferred, 503, until they agree; a token one issued, another may refuse); give every replica the same settings, or finish the rollout (docs/operations.md)`
  )
}
