import { boundedLog } from '../../../mcp-services/src/bounded-log.ts'
import type { AuthDeps } from '../deps.ts'
import { AccessDenied } from '../errors.ts'
import type { AuthMetrics } from '../metrics/auth-metrics.ts'
import { checkAccessRequest } from '../verify/access-request.ts'
import { createTargetResolver, type HeaderReader } from '../verify/forwarded-target.ts'
import { identityHeaders } from '../verify/identity-headers.ts'
import { identityLookalike } from '../verify/identity-lookalikes.ts'
import {
  type AccessTokenVerifier,
  createAccessTokenVerifier,
  type VerifiedToken,
} from '../verify/token-verifier.ts'
import { forwardAuthRefusal } from './error-response.ts'

/** What `/verify` answers: a status and headers, never a body (`Content-Length: 0`). */
export interface ForwardAuthAnswer {
  readonly status: 200 | 401 | 403
  readonly headers: Readonly<Record<string, string>>
}

/**
 * The forward-auth decision (DESIGN §5) for one request, from its headers: synchronous when the
 * token and its revocation state are cached. Served by the Node listener in front of the app
 * (`forward-auth-listener.ts`, metered by `meteredForwardAuth`) and by the app's `/verify` route
 * (metered by the app's middleware), one decision and its caches for both.
 */
export type ForwardAuth = (
  header: HeaderReader,
  method: string,
  fieldNames: Iterable<string>
) => ForwardAuthAnswer | Promise<ForwardAuthAnswer>

/**
 * The protected resource is the URL the proxy reports in its forwarding headers. Answers 200
 * with the identity headers, or 401/403 with the challenge; never anything else.
 */
export function createForwardAuth(
  deps: AuthDeps,
  verifier: AccessTokenVerifier = createAccessTokenVerifier(deps)
): ForwardAuth {
  const resolveTarget = createTargetResolver(deps.config)
  const allow = allowance()
  const refusalLog = boundedLog(deps.logger, {
    perSecond: deps.config.refusalLogRate,
    now: () => deps.clock.now(),
  })
  const refuse = (error: unknown): ForwardAuthAnswer =>
    forwardAuthRefusal(error, '/verify', deps.logger, refusalLog)

  const decide: ForwardAuth = (header, requestMethod, fieldNames) => {
    try {
      // Before anything else, preflights included: whatever the answer, the request goes on.
      const lookalike = identityLookalike(fieldNames)
      if (lookalike !== undefined) {
        throw new AccessDenied('the request carries a header named like an identity header', {
          reason: 'identity_header_lookalike',
        })
      }
      const method = header('x-forwarded-method') ?? requestMethod
      // CORS preflights carry no token; the upstream answers them (with empty identity headers).
      if (requestMethod === 'OPTIONS' || method.toUpperCase() === 'OPTIONS') {
        return allow(undefined)
      }
      const { match, metadataUrl } = resolveTarget(header)
      const access = checkAccessRequest(verifier, {
        authorization: header('authorization'),
        resource: match?.resource,
        resourceMetadata: metadataUrl,
      })
      return access instanceof Promise ? access.then(allow, refuse) : allow(access)
    } catch (error) {
      return refuse(error)
    }
  }
  return decide
}

/**
 * Counts and times each answer into the series the app's request metrics use for its routes
 * (`route="/verify"`, status class, no error code). Three statuses, so their series are taken once.
 */
export function meteredForwardAuth(decide: ForwardAuth, metrics: AuthMetrics): ForwardAuth {
  const allowed = metrics.requests.labels('/verify', '2xx', '')
  const refused = metrics.requests.labels('/verify', '4xx', '')
  const duration = metrics.requestDuration.labels('/verify')
  const record = (answer: ForwardAuthAnswer, started: number): ForwardAuthAnswer => {
    ;(answer.status === 200 ? allowed : refused).inc()
    duration.observe((performance.now() - started) / 1000)
    return answer
  }
  return (header, method, fieldNames) => {
    const started = performance.now()
    const answer = decide(header, method, fieldNames)
    return answer instanceof Promise
      ? answer.then((settled) => record(settled, started))
      : record(answer, started)
  }
}

const PREFLIGHT: ForwardAuthAnswer = { status: 200, headers: successHeaders(undefined) }

/** The 200, with its header object built once per verified token and kept as long as the token. */
function allowance(): (token: VerifiedToken | undefined) => ForwardAuthAnswer {
  const answers = new WeakMap<VerifiedToken, ForwardAuthAnswer>()
  return (token) => {
    if (!token) return PREFLIGHT
    let answer = answers.get(token)
    if (!answer) {
      answer = { status: 200, headers: successHeaders(token) }
      answers.set(token, answer)
    }
    return answer
  }
}

function successHeaders(token: VerifiedToken | undefined): Readonly<Record<string, string>> {
  return Object.freeze({
    ...identityHeaders(token),
    'Cache-Control': 'no-store',
    // An empty chunked body makes nginx and Caddy open a new connection per request (DESIGN §5).
    'Content-Length': '0',
  })
}
