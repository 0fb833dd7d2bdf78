import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createTestAuthServer,
  TEST_ISSUER,
  type TestAuthServer,
} from '../../../tests/support/auth-app.ts'
import {
  type GatewayRequest,
  openCodeForm,
  randomWrongUserCode,
  submitUserCode,
} from '../../../tests/support/device-page.ts'
import { USER_CODE_ENTRY_LIMITS } from '../routes/device.ts'

/**
 * The user-code limit at `/device` must hold under concurrency: each entry is counted before it
 * is judged, atomically in Redis, so of 300 simultaneous guesses at most the limit are judged.
 * (Counting wrong codes after judging them let 128 of 300 through on Redis.)
 */
describe('user-code entry under concurrent guessing (real Redis)', () => {
  let server: TestAuthServer
  beforeAll(async () => {
    server = await createTestAuthServer()
  })
  afterAll(async () => {
    await server.close()
  })

  /** Requests from one address, as the socket would report it. */
  const from =
    (remoteAddress: string): GatewayRequest =>
    (path, init) =>
      Promise.resolve(
        server.app.request(`${TEST_ISSUER}${path}`, init, {
          incoming: { socket: { remoteAddress } },
        })
      )

  const startDevice = async (request: GatewayRequest) => {
    const registration = await request('/register', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        redirect_uris: [],
        grant_types: ['urn:ietf:params:oauth:grant-type:device_code'],
        token_endpoint_auth_method: 'none',
      }),
    })
    const { client_id } = (await registration.json()) as { client_id: string }
    const device = await request('/device_authorization', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id }).toString(),
    })
    return ((await device.json()) as { user_code: string }).user_code
  }

  it('judges at most the limit of 300 concurrent wrong guesses, and refuses the rest first', async () => {
    const guesser = from('192.0.2.66')
    const realCode = await startDevice(from('192.0.2.1'))
    const form = await openCodeForm(guesser)

    const responses = await Promise.all(
      Array.from({ length: 300 }, () => submitUserCode(guesser, form, randomWrongUserCode()))
    )
    const judged = responses.filter((response) => response.status === 400)
    const refused = responses.filter((response) => response.status === 429)
    expect(judged.length + refused.length).toBe(300)
    expect(judged.length).toBeLessThanOrEqual(USER_CODE_ENTRY_LIMITS.perCaller)
    expect(await judged[0]?.text()).toContain('not valid or has expired')
    expect(await refused[0]?.text()).toContain('too many user codes entered')
    expect(Number(refused[0]?.headers.get('retry-after'))).toBeGreaterThan(0)

    // Over the limit even the right code is refused, until the window ends.
    expect((await submitUserCode(guesser, form, realCode)).status).toBe(429)
    // Another caller is judged meanwhile: the guesser spent only its own share of the global limit.
    const other = from('192.0.2.77')
    const page = await submitUserCode(other, await openCodeForm(other), realCode)
    expect(page.status).toBe(200)
    expect(await page.text()).toContain(realCode)

    server.clock.advance(USER_CODE_ENTRY_LIMITS.windowSeconds * 1000)
    expect((await submitUserCode(guesser, form, realCode)).status).toBe(200)
  })
})
