import type { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import {
  createTestAuthServer,
  ECHO_FORWARDED_HEADERS,
  type TestAuthServer,
} from '../../../tests/support/auth-app.ts'
import type { FakeGitHub } from '../../../tests/support/fake-github.ts'
import {
  clientRequest,
  exchangeCode,
  MALLORY,
  obtainCode,
  registerTestClient,
  tokenRequest,
  useFlowServer,
} from '../../../tests/support/oauth-flow.ts'
import { parseExposition, sampleValue } from '../../../tests/support/prometheus-text.ts'

const SECRET = 'internal-secret-of-the-test-deployment-0123456789'
const METRICS_TOKEN = 'metrics-token-of-the-test-deployment-0123456789'

const scrape = (app: Hono | undefined, token: string | null, path = '/metrics') =>
  Promise.resolve(
    (app as Hono).request(`http://auth:8001${path}`, {
      headers: token === null ? {} : { Authorization: `Bearer ${token}` },
    })
  )

async function samples(server: TestAuthServer) {
  const response = await scrape(server.internalApp, METRICS_TOKEN)
  expect(response.status).toBe(200)
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
  return parseExposition(await response.text())
}

describe('GET /metrics on the internal port', () => {
  let server: TestAuthServer
  let github: FakeGitHub
  useFlowServer(
    {
      ALLOWED_GITHUB_USERS: 'alice',
      INTERNAL_API_SECRET: SECRET,
      METRICS_TOKEN,
      REFRESH_TOKEN_REUSE_GRACE: '0',
    },
    (fixture) => {
      ;({ server, github } = fixture)
    }
  )

  it('answers only METRICS_TOKEN, which opens nothing else of the internal API', async () => {
    for (const token of [null, 'wrong', SECRET]) {
      const response = await scrape(server.internalApp, token)
      expect(response.status).toBe(401)
      expect(await response.json()).toMatchObject({ error: 'invalid_token' })
    }
    // The refusal names the scraper's own token, never the internal API's secret.
    const missing = (await (await scrape(server.internalApp, null)).json()) as Record<
      string,
      string
    >
    expect(missing.error_description).toBe('/metrics requires METRICS_TOKEN as a bearer token')
    const users = await scrape(server.internalApp, METRICS_TOKEN, '/internal/users/1001')
    expect(users.status).toBe(401)
    // And the public app has no /metrics.
    expect((await server.request('/metrics')).status).toBe(404)
  })

  it('counts a real flow: registration, tokens, refresh, reuse, verify, revocation, refusal', async () => {
    const before = await samples(server)
    const client = await registerTestClient(server)
    const { code, pkce } = await obtainCode(server, client)
    const tokens = (await (await exchangeCode(server, client, code, pkce)).json()) as {
      access_token: string
      refresh_token: string
    }
    const refresh = { grant_type: 'refresh_token', refresh_token: tokens.refresh_token }
    const refreshed = await tokenRequest(server, client, refresh)
    expect(refreshed.status).toBe(200)
    const fresh = (await refreshed.json()) as { access_token: string }
    const verify = (authorization?: string) =>
      server.request('/verify', {
        headers: {
          ...ECHO_FORWARDED_HEADERS,
          ...(authorization ? { Authorization: authorization } : {}),
        },
      })
    expect((await verify()).status).toBe(401)
    expect((await verify(`Bearer ${fresh.access_token}`)).status).toBe(200)
    const revoked = await clientRequest(server, client, '/revoke', { token: fresh.access_token })
    expect(revoked.status).toBe(200)
    // The replaced token again, without grace: reuse, the family is revoked.
    expect((await tokenRequest(server, client, refresh)).status).toBe(400)
    github.setNextLogin(MALLORY.login)
    await obtainCode(server, client).catch(() => undefined)
    expect((await server.request(`/register/${client.client_id}`)).status).toBe(401)

    const after = await samples(server)
    const moved = (name: string, labels: Record<string, string> = {}) =>
      sampleValue(after, name, labels) - sampleValue(before, name, labels)
    expect(moved('auth_clients_registered_total')).toBe(1)
    expect(moved('auth_tokens_issued_total', { grant_type: 'authorization_code' })).toBe(1)
    expect(moved('auth_tokens_refreshed_total')).toBe(1)
    expect(moved('auth_reuse_detected_total', { credential: 'refresh_token' })).toBe(1)
    expect(moved('auth_tokens_revoked_total', { token_type: 'access_token' })).toBe(1)
    expect(moved('auth_sign_ins_refused_total', { reason: 'not_an_allowed_user' })).toBe(1)
    expect(moved('auth_audit_events_total', { event: 'token.issued' })).toBe(1)
    // Requests by route pattern (never the raw path), status class and OAuth error.
    expect(moved('auth_http_requests_total', { route: '/register', status: '2xx' })).toBe(1)
    expect(moved('auth_http_requests_total', { route: '/token', status: '2xx' })).toBe(2)
    expect(
      moved('auth_http_requests_total', { route: '/token', status: '4xx', error: 'invalid_grant' })
    ).toBe(1)
    expect(moved('auth_http_requests_total', { route: '/verify', status: '4xx' })).toBe(1)
    expect(moved('auth_http_requests_total', { route: '/verify', status: '2xx' })).toBe(1)
    expect(
      moved('auth_http_requests_total', { route: '/register/:client_id', error: 'invalid_token' })
    ).toBe(1)
    expect(after.some((s) => s.labels.route === `/register/${client.client_id}`)).toBe(false)
    expect(moved('auth_http_request_duration_seconds_count', { route: '/verify' })).toBe(2)
    // A sub-millisecond bucket exists for /verify.
    expect(
      after.some(
        (s) =>
          s.name === 'auth_http_request_duration_seconds_bucket' &&
          s.labels.route === '/verify' &&
          s.labels.le === '0.0005'
      )
    ).toBe(true)
    // Every store call was timed; none failed.
    expect(moved('auth_store_operation_duration_seconds_count')).toBeGreaterThan(5)
    expect(sampleValue(after, 'auth_store_errors_total')).toBe(0)
  })

  it('counts a request no endpoint answers as unmatched, not under its path or a middleware pattern', async () => {
    const before = await samples(server)
    // Paths under prefixes only middleware (the audit's caller, CORS) is mounted on, a method
    // an endpoint does not take, and a path nothing knows.
    for (const path of ['/no/such/path/here', '/account/x', '/device/x', '/register/a/b']) {
      expect((await server.request(path)).status).toBe(404)
    }
    expect((await server.request('/token', { method: 'PUT' })).status).toBe(405)
    const after = await samples(server)
    const routes = (taken: Awaited<ReturnType<typeof samples>>) =>
      new Set(
        taken
          .filter((sample) => sample.name === 'auth_http_requests_total')
          .map((sample) => sample.labels.route)
      )
    const seen = routes(before)
    const added = [...routes(after)].filter((route) => !seen.has(route))
    expect(added.filter((route) => route?.includes('*'))).toEqual([])
    const moved = (labels: Record<string, string>) =>
      sampleValue(after, 'auth_http_requests_total', labels) -
      sampleValue(before, 'auth_http_requests_total', labels)
    expect(moved({ route: 'unmatched', error: 'not_found' })).toBe(4)
    expect(moved({ route: 'unmatched', error: 'invalid_request' })).toBe(1)
  })

  it('counts store errors by operation, and passes the error on', async () => {
    // A server of its own: its store is closed for good.
    const own = await createTestAuthServer({ INTERNAL_API_SECRET: SECRET, METRICS_TOKEN })
    // The start pinged the store once already, and it answered.
    const pings = (taken: Awaited<ReturnType<typeof samples>>) =>
      sampleValue(taken, 'auth_store_operation_duration_seconds_count', { operation: 'ping' })
    const before = await samples(own)
    await own.store.close()
    expect((await own.request('/ready')).status).toBe(503)
    const after = await samples(own)
    expect(sampleValue(before, 'auth_store_errors_total', { operation: 'ping' })).toBe(0)
    expect(sampleValue(after, 'auth_store_errors_total', { operation: 'ping' })).toBe(1)
    expect(pings(after) - pings(before)).toBe(1)
  })

  it('exports the counters alerts watch at 0 from the start, so the first event is an increase', async () => {
    const fresh = await createTestAuthServer({ INTERNAL_API_SECRET: SECRET, METRICS_TOKEN })
    try {
      const started = await samples(fresh)
      const series = (name: string, labels: Record<string, string>) =>
        started.filter(
          (s) => s.name === name && Object.entries(labels).every(([key, v]) => s.labels[key] === v)
        )
      for (const [name, labels] of [
        ['auth_reuse_detected_total', { credential: 'refresh_token' }],
        ['auth_reuse_detected_total', { credential: 'authorization_code' }],
        ['auth_tokens_revoked_total', { token_type: 'refresh_token' }],
        ['auth_tokens_issued_total', { grant_type: 'authorization_code' }],
        ['auth_sign_ins_refused_total', { reason: 'not_allowed' }],
        ['auth_store_errors_total', { operation: 'get' }],
        ['auth_store_errors_total', { operation: 'scan' }],
        ['auth_audit_stream_failures_total', {}],
      ] as const) {
        expect(
          series(name, labels).map((s) => s.value),
          `${name} ${JSON.stringify(labels)}`
        ).toEqual([0])
      }
    } finally {
      await fresh.close()
    }
  })

  it("keeps each server's metrics apart: two in one process never share a registry", async () => {
    const other = await createTestAuthServer({ INTERNAL_API_SECRET: SECRET, METRICS_TOKEN })
    try {
      await other.request('/health')
      const mine = sampleValue(await samples(server), 'auth_http_requests_total', {
        route: '/health',
      })
      const theirs = sampleValue(await samples(other), 'auth_http_requests_total', {
        route: '/health',
      })
      expect(theirs).toBe(1)
      expect(mine).toBe(0)
    } finally {
      await other.close()
    }
  })
})
