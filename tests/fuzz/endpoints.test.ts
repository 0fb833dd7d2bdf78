import type { LookupFunction } from 'node:net'
import fc from 'fast-check'
import type { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestAuthServer, TEST_ISSUER, type TestAuthServer } from '../support/auth-app.ts'
import type { FakeGitHub } from '../support/fake-github.ts'
import { startFlowGitHub } from '../support/oauth-flow.ts'
import { type FuzzRequest, PROBE, requestsFor, type Template } from './arbitraries.ts'
import { collectLiveValues, INTERNAL_SECRET } from './live-values.ts'

/**
 * Every endpoint of the authorization server (and of its internal API), taken from the apps'
 * route tables so that a new route is fuzzed without being listed here, answers arbitrary
 * requests without a 5xx, with the OAuth error shape in JSON, without a stack trace, and with
 * its input escaped in HTML. `FUZZ_RUNS` and `FUZZ_SEED` repeat a run (a failure prints both).
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 80)
const SEED = process.env.FUZZ_SEED === undefined ? Date.now() : Number(process.env.FUZZ_SEED)
/**
 * The resolver for client metadata documents: none of the fuzz's host names exists, whatever the
 * machine's DNS does (one that cannot be reached would make every such client_id a 503).
 */
const NO_SUCH_HOST = ((host: string, _options: unknown, callback: (error: Error) => void) =>
  callback(
    Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' })
  )) as unknown as LookupFunction
/** Limits far above the run's requests: a 429 would stop the fuzz at the door. */
const GENEROUS_LIMITS = {
  TOKEN_RATE_LIMIT: '100000',
  REGISTRATION_RATE_LIMIT: '100000',
  REGISTRATION_GLOBAL_RATE_LIMIT: '100000',
}

/** Paths of a route table with the methods registered for them (middleware-only paths too). */
function endpointsOf(app: Hono): Map<string, string[]> {
  const endpoints = new Map<string, string[]>()
  for (const { method, path } of app.routes) {
    if (path === '/*') continue
    const methods = endpoints.get(path) ?? []
    if (method !== 'ALL' && !methods.includes(method)) methods.push(method)
    endpoints.set(path, methods)
  }
  return endpoints
}

/** What must hold for any answer; returns the problem, or undefined. */
async function problemWith(response: Response): Promise<string | undefined> {
  const body = await response.text()
  if (response.status >= 500) return `status ${response.status}: ${body.slice(0, 300)}`
  if (/\n\s+at\s|node_modules|\.ts:\d+/.test(body)) return `stack trace: ${body.slice(0, 300)}`
  const type = response.headers.get('content-type') ?? ''
  if (type.includes('json') && response.status >= 400 && body !== '') {
    const parsed = JSON.parse(body) as Record<string, unknown>
    if (typeof parsed.error !== 'string') return `no error code: ${body.slice(0, 300)}`
    if ('error_description' in parsed && typeof parsed.error_description !== 'string')
      return `error_description not a string: ${body.slice(0, 300)}`
  }
  if (type.includes('html') && body.includes(PROBE)) return 'input reflected unescaped in HTML'
  return undefined
}

function describeRequest(request: FuzzRequest): string {
  const body =
    typeof request.body === 'string'
      ? request.body.slice(0, 500)
      : request.body && `bytes ${Buffer.from(request.body).toString('hex').slice(0, 200)}`
  return JSON.stringify({ ...request, body })
}

describe('every endpoint under arbitrary requests', () => {
  let github: FakeGitHub
  let server: TestAuthServer
  let devServer: TestAuthServer
  const dictionary: {
    values: string[]
    cookies: string[]
    bearers: string[]
  } = { values: [], cookies: [], bearers: [] }
  const templates = new Map<string, Template[]>()

  beforeAll(async () => {
    github = await startFlowGitHub()
    server = await createTestAuthServer(
      {
        ...github.env,
        ...GENEROUS_LIMITS,
        ALLOWED_GITHUB_USERS: 'alice',
        INTERNAL_API_SECRET: INTERNAL_SECRET,
      },
      { resolveHost: NO_SUCH_HOST }
    )
    // The development sign-in (`/dev-login`) exists only without an identity provider.
    devServer = await createTestAuthServer(
      { ...GENEROUS_LIMITS, DEVELOPMENT_SIGN_IN: 'true' },
      { resolveHost: NO_SUCH_HOST }
    )

    await collectLiveValues(server, dictionary, templates)
  }, 120_000)
  afterAll(async () => {
    await server?.close()
    await devServer?.close()
    await github?.close()
  })

  const fuzz = async (
    app: Hono,
    logs: Record<string, unknown>[],
    route: string,
    methods: string[]
  ) => {
    const property = fc.asyncProperty(
      requestsFor(route, methods, dictionary, templates.get(route)),
      async (request) => {
        const logsBefore = logs.length
        const response = await app.request(`${TEST_ISSUER}${request.path}`, {
          method: request.method,
          headers: request.headers,
          ...(request.body === undefined ? {} : { body: request.body }),
        })
        const problem = await problemWith(response)
        // A bug the endpoint hid from the caller (`/verify` fails closed) is still a bug.
        const failure = logs.slice(logsBefore).find((line) => Number(line.level) >= 50)
        if (problem ?? failure) {
          throw new Error(
            `${problem ?? `error logged: ${JSON.stringify(failure).slice(0, 500)}`}\n` +
              `request: ${describeRequest(request)}`
          )
        }
      }
    )
    await fc.assert(property, { numRuns: RUNS, seed: SEED, endOnFailure: true })
  }

  it('lists the endpoints it fuzzes from the route tables', () => {
    const paths = [...endpointsOf(server.app).keys()]
    for (const path of ['/register', '/register/:client_id', '/token', '/verify', '/jwks'])
      expect(paths).toContain(path)
    expect([...endpointsOf(devServer.app).keys()]).toContain('/dev-login')
    expect([...endpointsOf(server.internalApp as Hono).keys()]).toContain('/internal/users/:userId')
  })

  // Collected when the tests are defined: the route tables need the apps, which start in
  // beforeAll; so each table's paths are fuzzed by one test that walks them.
  const tables: [string, () => Hono | undefined, () => Record<string, unknown>[], () => Hono][] = [
    ['the authorization server', () => server.app, () => server.logs, () => server.app],
    ['the internal API', () => server.internalApp, () => server.logs, () => server.app],
    // Only the routes the development sign-in adds.
    ['the development sign-in', () => devServer.app, () => devServer.logs, () => server.app],
  ]
  for (const [label, appOf, logsOf, baseOf] of tables) {
    it(`keeps the OAuth error shape and never a 5xx: ${label} (seed ${SEED})`, async () => {
      const app = appOf() as Hono
      const base = baseOf()
      const known = app === base ? new Map<string, string[]>() : endpointsOf(base)
      for (const [route, methods] of endpointsOf(app)) {
        const there = known.get(route)
        if (there && methods.every((method) => there.includes(method))) continue
        await fuzz(app, logsOf(), route, methods)
      }
    }, 180_000)
  }
})
