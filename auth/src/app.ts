import { Hono } from 'hono'
import type { AuthDeps } from './deps.ts'
import { MethodNotAllowed, NoSuchEndpoint } from './errors.ts'
import { allowedMethods } from './http/allowed-methods.ts'
import { auditedRequest } from './http/audited-request.ts'
import { errorLogs, toOAuthResponse } from './http/error-response.ts'
import { createForwardAuth } from './http/forward-auth.ts'
import { requestMetrics } from './metrics/request-metrics.ts'
import {
  isAuthorizationError,
  servesPages,
  toAuthorizationErrorResponse,
  toErrorPageResponse,
} from './pages/authorization-error-response.ts'
import { accountRoute } from './routes/account.ts'
import { accountRevokeRoute } from './routes/account-revoke.ts'
import { accountSignInRoute } from './routes/account-sign-in.ts'
import { accountSignOutRoute } from './routes/account-sign-out.ts'
import { authorizationServerMetadataRoute } from './routes/authorization-server-metadata.ts'
import { authorizeRoute } from './routes/authorize.ts'
import { callbackRoute } from './routes/callback.ts'
import { clientConfigurationRoute } from './routes/client-configuration.ts'
import { developmentSignInRoute } from './routes/development-sign-in.ts'
import { deviceRoute } from './routes/device.ts'
import { deviceAuthorizationRoute } from './routes/device-authorization.ts'
import { healthRoute } from './routes/health.ts'
import { introspectRoute } from './routes/introspect.ts'
import { jwksRoute } from './routes/jwks.ts'
import { protectedResourceMetadataRoute } from './routes/protected-resource-metadata.ts'
import { registerRoute } from './routes/register.ts'
import { revokeRoute } from './routes/revoke.ts'
import { tokenRoute } from './routes/token.ts'
import { verifyRoute } from './routes/verify.ts'

/**
 * Endpoints whose work may be audited: they run knowing the caller's address (docs/audit.md).
 * An endpoint missing here still records its events, without `caller`.
 */
const AUDITED_PATHS = [
  '/register',
  '/register/*',
  '/authorize',
  '/callback',
  '/dev-login',
  '/token',
  '/revoke',
  '/device_authorization',
  '/device',
  '/device/*',
  '/account',
  '/account/*',
] as const

/**
 * Pages whose GET changes something (a consent request saved, a remembered consent answered with
 * a code, a sign-in completed, a user code counted). Hono serves HEAD with the GET route and
 * drops the body; a link checker or a preview sending HEAD must not do any of that.
 */
const PAGES_WITH_EFFECTS: ReadonlySet<string> = new Set([
  '/authorize',
  '/callback',
  '/dev-login',
  '/device',
  '/account',
])

/**
 * The authorization server: every endpoint mounted here, every error mapped in one place.
 *
 * Served by Node, `/verify` is answered before the app by the public listener
 * (`http/forward-auth-listener.ts`), metered there: it is the hot path (DESIGN §5), and any
 * middleware here (the request metrics, the one app-wide middleware) would take it off the
 * router's single-handler path. Its route here asks the same, unmetered, `ForwardAuth` for
 * `app.request` and other runtimes, and the middleware counts it like any route.
 */
export function createApp(deps: AuthDeps, forwardAuth = createForwardAuth(deps)): Hono {
  const app = new Hono()
  if (deps.metrics) app.use('*', requestMetrics(deps.metrics))
  const audited = auditedRequest(deps.config.trustProxy)
  for (const path of AUDITED_PATHS) app.use(path, audited)
  const allowed = allowedMethods(app, (path) => PAGES_WITH_EFFECTS.has(path))
  for (const path of PAGES_WITH_EFFECTS) {
    app.use(path, async (c, next) => {
      if (c.req.method !== 'HEAD') return next()
      // A page not mounted here (`/dev-login` with GitHub configured) is a 404, as its GET.
      const methods = allowed(path)
      if (methods.length === 0) return next()
      throw new MethodNotAllowed('HEAD is not allowed here: the page is opened with GET', methods)
    })
  }
  app.route('/', verifyRoute(forwardAuth))
  app.route('/', authorizationServerMetadataRoute(deps.config))
  app.route('/', protectedResourceMetadataRoute(deps.config))
  app.route('/', jwksRoute(deps.signingKeys))
  app.route('/', registerRoute(deps))
  app.route('/', clientConfigurationRoute(deps))
  app.route('/', authorizeRoute(deps))
  app.route('/', callbackRoute(deps))
  if (deps.upstream?.developmentSignIn) app.route('/', developmentSignInRoute(deps))
  app.route('/', tokenRoute(deps))
  app.route('/', revokeRoute(deps))
  app.route('/', introspectRoute(deps))
  app.route('/', deviceAuthorizationRoute(deps))
  app.route('/', deviceRoute(deps))
  app.route('/', accountRoute(deps))
  app.route('/', accountSignInRoute(deps))
  app.route('/', accountRevokeRoute(deps))
  app.route('/', accountSignOutRoute(deps))
  app.route('/', healthRoute(deps.store, deps.readiness))
  app.notFound((c) => {
    const allow = allowed(c.req.path)
    if (allow.length === 0) throw new NoSuchEndpoint('no such endpoint')
    throw new MethodNotAllowed(`${c.req.method} is not allowed here`, allow)
  })
  const logs = errorLogs(deps.logger, deps.config.refusalLogRate, deps.clock)
  app.onError((error, c) => {
    if (isAuthorizationError(error)) {
      return toAuthorizationErrorResponse(error, c, deps.config.issuer, logs)
    }
    if (servesPages(c.req.method, c.req.path)) return toErrorPageResponse(error, c, logs)
    return toOAuthResponse(error, c, logs)
  })
  return app
}
