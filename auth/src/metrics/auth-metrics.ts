import { Counter, Gauge, Histogram, Registry } from 'prom-client'

/**
 * Seconds, fine below a millisecond: `/verify` answers a cached token in tens of microseconds, a
 * store round trip takes a fraction of a millisecond, a sign-in at GitHub takes a second.
 */
export const LATENCY_BUCKETS = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
  5,
]

/**
 * The authorization server's Prometheus metrics (docs/metrics.md), in a registry of their own:
 * made once in composition and passed down like the store, so several servers in one process
 * (tests, the standalone gateway) never share or collide.
 */
export interface AuthMetrics {
  readonly registry: Registry
  readonly requests: Counter<'route' | 'status' | 'error'>
  readonly requestDuration: Histogram<'route'>
  readonly auditEvents: Counter<'event'>
  readonly tokensIssued: Counter<'grant_type'>
  readonly tokensRefreshed: Counter
  readonly tokensRevoked: Counter<'token_type'>
  readonly reuseDetected: Counter<'credential'>
  readonly clientsRegistered: Counter
  readonly signInsRefused: Counter<'reason'>
  readonly refreshesRefused: Counter<'reason'>
  readonly storeOperations: Histogram<'operation'>
  readonly storeErrors: Counter<'operation'>
  /** Settings other running replicas on the store have another value of (`replica-watch.ts`). */
  readonly replicaSettingsDisagreeing: Gauge
  /** A counter the code keeps itself (e.g. the audit stream's failures), read at each scrape. */
  keptCounter(name: string, help: string, read: () => number): void
}

export function createAuthMetrics(): AuthMetrics {
  const registry = new Registry()
  const registers = [registry]
  const metrics: AuthMetrics = {
    registry,
    requests: new Counter({
      name: 'auth_http_requests_total',
      help: 'Requests answered, by route pattern, status class and OAuth error code',
      labelNames: ['route', 'status', 'error'],
      registers,
    }),
    requestDuration: new Histogram({
      name: 'auth_http_request_duration_seconds',
      help: 'Time to answer a request, by route pattern',
      labelNames: ['route'],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    auditEvents: new Counter({
      name: 'auth_audit_events_total',
      help: 'Audited events recorded (docs/audit.md), by event name',
      labelNames: ['event'],
      registers,
    }),
    tokensIssued: new Counter({
      name: 'auth_tokens_issued_total',
      help: 'Token responses for a new grant, by grant type',
      labelNames: ['grant_type'],
      registers,
    }),
    tokensRefreshed: new Counter({
      name: 'auth_tokens_refreshed_total',
      help: 'Refresh tokens exchanged for new tokens',
      registers,
    }),
    tokensRevoked: new Counter({
      name: 'auth_tokens_revoked_total',
      help: 'Revocations, by what was revoked (one access token or a refresh family)',
      labelNames: ['token_type'],
      registers,
    }),
    reuseDetected: new Counter({
      name: 'auth_reuse_detected_total',
      help: 'A used refresh token or authorization code presented again (a possible leak)',
      labelNames: ['credential'],
      registers,
    }),
    clientsRegistered: new Counter({
      name: 'auth_clients_registered_total',
      help: 'Clients registered dynamically',
      registers,
    }),
    signInsRefused: new Counter({
      name: 'auth_sign_ins_refused_total',
      help: 'Sign-ins refused, by reason',
      labelNames: ['reason'],
      registers,
    }),
    refreshesRefused: new Counter({
      name: 'auth_refreshes_refused_total',
      help: 'Refreshes refused after the user was re-checked, by reason',
      labelNames: ['reason'],
      registers,
    }),
    storeOperations: new Histogram({
      name: 'auth_store_operation_duration_seconds',
      help: 'Time a store operation took, failed ones included, by operation',
      labelNames: ['operation'],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    storeErrors: new Counter({
      name: 'auth_store_errors_total',
      help: 'Store operations that failed (unreachable, full, timed out), by operation',
      labelNames: ['operation'],
      registers,
    }),
    replicaSettingsDisagreeing: new Gauge({
      name: 'auth_replica_settings_disagreeing',
      help: 'Shared settings on which another replica running on the store differs from this one',
      registers,
    }),
    keptCounter: (name, help, read) => {
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset()
          this.inc(read())
        },
      })
    },
  }
  // A series that first appears at 1 is no increase to `increase()` or `rate()`: the first reuse
  // after a start would raise no alert. The values known in advance start at 0.
  zeroed(metrics.reuseDetected, 'credential', ['refresh_token', 'authorization_code'])
  zeroed(metrics.tokensRevoked, 'token_type', ['access_token', 'refresh_token'])
  zeroed(metrics.tokensIssued, 'grant_type', ['authorization_code', 'device_code'])
  zeroed(metrics.signInsRefused, 'reason', ['not_allowed'])
  zeroed(metrics.refreshesRefused, 'reason', ['not_allowed'])
  return metrics
}

function zeroed<Label extends string>(
  counter: Counter<Label>,
  label: Label,
  values: readonly string[]
): void {
  for (const value of values) counter.inc({ [label]: value } as Record<Label, string>, 0)
}
