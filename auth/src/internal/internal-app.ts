import { Hono } from 'hono'
import type { UserDirectory } from '../../../mcp-services/src/user-directory.ts'
import type { AuthDeps } from '../deps.ts'
import { NotFound } from '../errors.ts'
import { errorLogs, toOAuthResponse } from '../http/error-response.ts'
import { internalGitHubTokenRoute } from './internal-github-token.ts'
import { internalMetricsRoute } from './internal-metrics.ts'
import { internalSecretCheck } from './internal-secret.ts'
import { internalUserRoute } from './internal-user.ts'

/**
 * The internal API (docs/internal-api.md): served on `INTERNAL_PORT`, never routed by the edge,
 * for the deployment's own services. Every request must carry `INTERNAL_API_SECRET`. One file per
 * route, added here.
 */
export function createInternalApp(deps: AuthDeps, users: UserDirectory, secret: string): Hono {
  const app = new Hono()
  // Before the secret check: `/metrics` answers (or refuses) with its own token and never gets
  // that far, so the scraper's token opens nothing else.
  if (deps.metrics) {
    const { metricsToken } = deps.config
    app.route(
      '/',
      internalMetricsRoute(deps.metrics, {
        value: metricsToken ?? secret,
        ownToken: metricsToken !== undefined,
      })
    )
  }
  app.use('*', internalSecretCheck(secret))
  app.route('/', internalUserRoute(users))
  app.route('/', internalGitHubTokenRoute(users))
  app.notFound(() => {
    throw new NotFound('no such endpoint')
  })
  const logs = errorLogs(deps.logger, deps.config.refusalLogRate, deps.clock)
  app.onError((error, c) => toOAuthResponse(error, c, logs))
  return app
}
