import { Hono } from 'hono'
import type { AuthMetrics } from '../metrics/auth-metrics.ts'
import { internalSecretCheck } from './internal-secret.ts'

/**
 * `GET /metrics`: the Prometheus exposition (docs/metrics.md). It takes its own bearer token,
 * `METRICS_TOKEN` when set, so the scraper never holds the secret that reads users' GitHub tokens
 * (and that token reads nothing but this); `INTERNAL_API_SECRET` otherwise.
 */
export const internalMetricsRoute = (
  metrics: AuthMetrics,
  token: { readonly value: string; readonly ownToken: boolean }
) =>
  new Hono()
    .use(
      '/metrics',
      token.ownToken
        ? internalSecretCheck(token.value, {
            missing: '/metrics requires METRICS_TOKEN as a bearer token',
            wrong: 'the METRICS_TOKEN bearer token is wrong',
          })
        : internalSecretCheck(token.value)
    )
    .get('/metrics', async (c) =>
      c.body(await metrics.registry.metrics(), 200, {
        'Content-Type': metrics.registry.contentType,
        'Cache-Control': 'no-store',
      })
    )
