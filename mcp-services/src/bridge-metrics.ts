import { createHash, timingSafeEqual } from 'node:crypto'
import { Hono, type MiddlewareHandler } from 'hono'
import { Counter, Histogram, Registry } from 'prom-client'
import type { ChildConnection } from './child-process.ts'
import { isModernVersion } from './modern-protocol.ts'
import { callbackGauge } from './process-metrics.ts'

/** Which protocol era a child or request belongs to (docs/mcp-services.md, "Protocol eras"). */
const ERAS = ['session', 'stateless'] as const
export type Era = (typeof ERAS)[number]

/**
 * One bridge's Prometheus metrics (docs/metrics.md), in a registry of its own: several bridges in
 * one process (tests, the standalone gateway) never share or collide.
 */
export interface BridgeMetrics {
  readonly registry: Registry
  readonly requests: Counter<'era' | 'status'>
  readonly requestDuration: Histogram<'era'>
  readonly childStarts: Counter<'era'>
  readonly childExits: Counter<'era' | 'cause'>
  /** Requests answered 429 as their user's children keep ending by themselves (crash-rate.ts). */
  readonly childStartsRefused: Counter<'era'>
  /** Reads a live value at each scrape (sessions, pooled children). */
  gauge(name: string, help: string, read: () => number): void
}

export function createBridgeMetrics(service: string): BridgeMetrics {
  const registry = new Registry()
  registry.setDefaultLabels({ service })
  const registers = [registry]
  const metrics: BridgeMetrics = {
    registry,
    requests: new Counter({
      name: 'bridge_requests_total',
      help: 'MCP requests answered, by protocol era and status class',
      labelNames: ['era', 'status'],
      registers,
    }),
    requestDuration: new Histogram({
      name: 'bridge_request_duration_seconds',
      help: 'Time until an MCP request is answered (the headers: a stream goes on after), by era',
      labelNames: ['era'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    childStarts: new Counter({
      name: 'bridge_child_starts_total',
      help: 'MCP server processes started, by era (a session each, or a pooled child per user)',
      labelNames: ['era'],
      registers,
    }),
    childExits: new Counter({
      name: 'bridge_child_exits_total',
      help: 'MCP server processes ended, by era and cause: closed by the bridge, or exited by itself (crash)',
      labelNames: ['era', 'cause'],
      registers,
    }),
    childStartsRefused: new Counter({
      name: 'bridge_child_starts_refused_total',
      help: "Requests refused (429) instead of starting a process because the user's MCP server processes keep exiting by themselves, by era",
      labelNames: ['era'],
      registers,
    }),
    gauge: (name, help, read) => callbackGauge(registry, name, help, read),
  }
  // A series that first appears at 1 is no increase to `increase()`: the first crash after a start
  // would raise no alert. Every era and cause starts at 0.
  for (const era of ERAS) {
    metrics.childStarts.inc({ era }, 0)
    metrics.childStartsRefused.inc({ era }, 0)
    for (const cause of ['closed', 'exited']) metrics.childExits.inc({ era, cause }, 0)
  }
  return metrics
}

/**
 * Counts the child's start now and its exit when it happens: `closed` when the bridge ended it
 * (idle, deleted session, shutdown), `exited` when it ended by itself, which the next request
 * answers with a new child (the restarts to alert on).
 */
export function countChild(child: ChildConnection, era: Era, metrics: BridgeMetrics): void {
  metrics.childStarts.inc({ era })
  let closing = false
  const close = child.close.bind(child)
  child.close = () => {
    closing = true
    return close()
  }
  void child.exited.then(() => {
    metrics.childExits.inc({ era, cause: closing ? 'closed' : 'exited' })
  })
}

/** Counts and times every `/mcp` request by era (its `MCP-Protocol-Version`) and status class. */
export function bridgeRequestMetrics(metrics: BridgeMetrics): MiddlewareHandler {
  return async (c, next) => {
    const started = performance.now()
    const era: Era = isModernVersion(c.req.header('mcp-protocol-version')) ? 'stateless' : 'session'
    try {
      await next()
    } finally {
      const status = c.error ? 500 : c.res.status
      metrics.requests.inc({ era, status: `${Math.floor(status / 100)}xx` })
      metrics.requestDuration.observe({ era }, (performance.now() - started) / 1000)
    }
  }
}

/**
 * The metrics listener's app (`METRICS_PORT`): `GET /metrics` for a bearer `METRICS_TOKEN`,
 * compared in constant time; 401 otherwise. Never on the bridge's own port, which the edge routes.
 */
export function metricsApp(registry: Registry, token: string): Hono {
  const expected = digest(token)
  return new Hono().get('/metrics', async (c) => {
    const presented = c.req.header('authorization')?.match(/^Bearer +(\S+)$/i)?.[1]
    if (presented === undefined || !timingSafeEqual(digest(presented), expected)) {
      return c.json(
        { error: 'invalid_token', error_description: '/metrics requires METRICS_TOKEN' },
        401,
        { 'WWW-Authenticate': 'Bearer' }
      )
    }
    return c.body(await registry.metrics(), 200, {
      'Content-Type': registry.contentType,
      'Cache-Control': 'no-store',
    })
  })
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest()
}
