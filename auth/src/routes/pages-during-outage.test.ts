import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createTestAuthServer,
  TEST_ISSUER,
  type TestAuthServer,
} from '../../../tests/support/auth-app.ts'
import { openCodeForm, submitUserCode } from '../../../tests/support/device-page.ts'
import type { FakeGitHub } from '../../../tests/support/fake-github.ts'
import {
  authorizeUrl,
  browserFor,
  newPkce,
  registerTestClient,
  startDeviceAuthorization,
  startFlowGitHub,
} from '../../../tests/support/oauth-flow.ts'
import {
  type RedisBehindProxy,
  startRedisBehindProxy,
} from '../../../tests/support/stalling-proxy.ts'
import { createRedisStore } from '../store/redis-store.ts'

/**
 * What a person's browser gets while Redis does not answer: a page saying to retry, with 503 and
 * `Retry-After`, never the JSON a client gets; and a sign-in that came back from GitHub during
 * the outage finishes when the page is loaded again. Redis of its own behind a relay whose open
 * connections go silent (a network outage: nothing sent reaches Redis) until the store makes a
 * new connection, or that holds a command back (a stall: Redis runs it after the gateway gave up).
 */
describe('pages while the store does not answer', () => {
  let redis: RedisBehindProxy
  let github: FakeGitHub
  let server: TestAuthServer

  beforeAll(async () => {
    redis = await startRedisBehindProxy()
    github = await startFlowGitHub()
    const store = Object.assign(createRedisStore(redis.url, 'pages:', 300), {
      clear: async () => {},
    })
    server = await createTestAuthServer({ ...github.env, ALLOWED_GITHUB_USERS: 'alice' }, { store })
  })
  afterAll(async () => {
    await server?.close()
    await github?.close()
    await redis?.stop()
  })

  /** Loads `url` until the store answers again (a new connection, within seconds). */
  const reload = async (browser: ReturnType<typeof browserFor>, url: string, stopAt: string) => {
    for (const started = Date.now(); Date.now() - started < 10_000; ) {
      const page = await browser.open(url, stopAt)
      if (page.response.status !== 503) return page
    }
    throw new Error('the store did not come back')
  }

  const expectOutagePage = (page: { response: Response; body: string }) => {
    expect(page.response.status).toBe(503)
    expect(page.response.headers.get('content-type')).toContain('text/html')
    expect(page.response.headers.get('retry-after')).toBe('5')
    expect(page.body).toContain('briefly unavailable')
    expect(page.body).not.toContain('{"error"')
  }

  /** A code-flow sign-in approved and signed in at GitHub, stopped where it comes back. */
  const backFromGitHub = async () => {
    github.setNextLogin('alice')
    const client = await registerTestClient(server)
    const browser = browserFor(server)
    const consent = await browser.open(authorizeUrl(client, newPkce()), github.baseUrl)
    const atGitHub = await browser.submitConsent(consent, 'approve', github.baseUrl)
    // GitHub signs the user in and sends the browser back: the URL it would load next.
    const callback = await browser.open(atGitHub.url, `${TEST_ISSUER}/callback`)
    expect(callback.url).toContain('code=')
    return { browser, callback, redirectUri: client.redirect_uris[0] ?? '' }
  }

  /** The sign-in finished: the browser is at the client's redirect URI, with a code. */
  const expectCodeAt = (page: { url: string }, redirectUri: string) => {
    expect(page.url.startsWith(redirectUri)).toBe(true)
    expect(new URL(page.url).searchParams.get('code')).toBeTruthy()
  }

  it('answers a user code entered during the outage with a page', async () => {
    github.setNextLogin('alice')
    const request = (path: string, init?: RequestInit) =>
      Promise.resolve(server.app.request(`${TEST_ISSUER}${path}`, init))
    const form = await openCodeForm(request)
    redis.proxy.silenceOpenConnections()
    const response = await submitUserCode(request, form, 'BCDF-GHJK')
    expectOutagePage({ response, body: await response.text() })
    await expect
      .poll(
        () =>
          server.store.ping().then(
            () => true,
            () => false
          ),
        { timeout: 10_000 }
      )
      .toBe(true)
  })

  it('answers a device sign-in whose return finds GitHub refusing every call with the page', async () => {
    github.setNextLogin('alice')
    const { device } = await startDeviceAuthorization(server)
    const browser = browserFor(server)
    const codePage = await browser.open(device.verification_uri_complete, 'about:')
    const consent = await browser.submitForm(codePage, { user_code: device.user_code }, 'about:')
    const atGitHub = await browser.submitConsent(consent, 'approve', github.baseUrl)
    const callback = await browser.open(atGitHub.url, `${TEST_ISSUER}/callback`)
    github.setRateLimited(true, 429)
    try {
      expectOutagePage(await browser.open(callback.url, 'about:'))
    } finally {
      github.setRateLimited(false)
    }
  })

  it('finishes a sign-in whose return from GitHub met a stalled Redis once the page is reloaded', async () => {
    const { browser, callback, redirectUri } = await backFromGitHub()

    // Redis gets the callback's first command late, after the gateway gave up, and runs it then.
    redis.proxy.arm((chunk) => chunk.includes('pending-authorization'), 1_000)
    expectOutagePage(await browser.open(callback.url, redirectUri))
    await redis.proxy.released()

    expectCodeAt(await browser.open(callback.url, redirectUri), redirectUri)
  })

  it('finishes a sign-in whose return from GitHub met the outage once the page is reloaded', async () => {
    const { browser, callback, redirectUri } = await backFromGitHub()

    redis.proxy.silenceOpenConnections()
    const failed = await browser.open(callback.url, redirectUri)
    expectOutagePage(failed)

    expectCodeAt(await reload(browser, callback.url, redirectUri), redirectUri)
  })
})
