import { collectDefaultMetrics, Gauge, type Registry } from 'prom-client'

/**
 * A gauge read at each scrape (`read()`), for values the code keeps anyway (sessions, pooled
 * children, the audit stream's failures): nothing to update as they change.
 */
export function callbackGauge(
  registry: Registry,
  name: string,
  help: string,
  read: () => number
): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read())
    },
  })
}

/**
 * Adds the process's own metrics (CPU, memory, event loop delay, garbage collection) to a
 * registry. Only a running server does: each call starts observers that live as long as the
 * process.
 */
export function collectProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry })
  // Gauges named like counters, which Prometheus' own lint refuses; their by-type twins stay
  // (`nodejs_active_handles{type=…}`), and `sum()` over them gives the same figure.
  for (const name of LINT_FAILING_DEFAULTS) registry.removeSingleMetric(name)
}

const LINT_FAILING_DEFAULTS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
] as const
